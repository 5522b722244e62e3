"""Test databases: migrated templates, and a pool of databases handed back to the template's state
after each test instead of dropped.

Making a database from a template costs ~0.1 s on this machine and dropping it another 0.1–0.3 s;
the suite asks for about a thousand. Handing a used database back costs one connection and a few
statements: every table emptied and refilled with the template's own rows (the seeded districts,
organisations, …), every sequence set back to the template's value. A database whose schema the
test changed (a table, column, index, trigger, function or grant added or dropped: the catalogue's
fingerprint differs from the template's) is dropped, not reused, so no test ever sees another's
data or schema.
"""

import io
import itertools

import psycopg
from psycopg import sql

from alliance_platform.migrate import apply
from tests.support.helpers import database_url

# What a test could change besides rows: the user schemas' relations, columns, constraints,
# triggers, functions and privileges, and the database's own settings.
FINGERPRINT = """
SELECT md5(coalesce(string_agg(line, E'\\n' ORDER BY line), '')) FROM (
    SELECT format('rel %s.%s %s %s', n.nspname, c.relname, c.relkind, c.relacl) AS line
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    UNION ALL
    SELECT format('col %s.%s %s %s %s %s', c.oid::regclass, a.attname, a.atttypid, a.attnotnull,
                  a.attgenerated, pg_get_expr(d.adbin, d.adrelid))
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND a.attnum > 0
       AND NOT a.attisdropped
    UNION ALL
    SELECT format('con %s %s', conrelid::regclass, pg_get_constraintdef(oid)) FROM pg_constraint
     WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    UNION ALL
    SELECT format('trg %s %s %s', tgrelid::regclass, tgname, tgenabled) FROM pg_trigger
     WHERE NOT tgisinternal
    UNION ALL
    SELECT format('fn %s %s', p.oid::regprocedure, md5(p.prosrc)) FROM pg_proc p
     WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    UNION ALL
    SELECT format('set %s', array_to_string(setconfig, ',')) FROM pg_db_role_setting
     WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
) lines
"""

TABLES = """
SELECT c.oid::regclass::text, n.nspname, c.relname,
       array(SELECT quote_ident(attname) FROM pg_attribute
              WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
              ORDER BY attnum)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND NOT c.relispartition
 ORDER BY 1
"""


class Template:
    """One migrated template: its name, its rows (as COPY data), its sequences and its fingerprint."""

    def __init__(self, name, conn):
        self.name = name
        self.fingerprint = conn.execute(FINGERPRINT).fetchone()[0]
        self.tables = []  # (qualified name, columns)
        self.rows = {}  # qualified name -> COPY text of the template's rows
        for qualified, _schema, _table, columns in conn.execute(TABLES).fetchall():
            self.tables.append((qualified, columns))
            copy = sql.SQL("COPY {} ({}) TO STDOUT").format(
                sql.SQL(qualified), sql.SQL(", ").join(map(sql.SQL, columns))
            )
            buffer = io.BytesIO()
            with conn.cursor().copy(copy) as out:
                for block in out:
                    buffer.write(block)
            if buffer.tell():
                self.rows[qualified] = (columns, buffer.getvalue())
        self.sequences = conn.execute(
            "SELECT format('%I.%I', schemaname, sequencename), start_value, last_value FROM pg_sequences"
        ).fetchall()

    def restore(self, conn):
        """Hand ``conn``'s database back to this template's state; False if its schema differs."""
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if conn.execute(FINGERPRINT).fetchone()[0] != self.fingerprint:
            return False
        with conn.transaction():
            # Replica mode: no triggers (the ledger's "never deleted" guard, foreign keys) while
            # the rows are replaced wholesale.
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.SQL(name) for name, _ in self.tables)))
            for qualified, (columns, data) in self.rows.items():
                copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.SQL(qualified), sql.SQL(", ").join(map(sql.SQL, columns))
                )
                with conn.cursor().copy(copy) as into:
                    into.write(data)
            for name, start, last in self.sequences:
                if last is None:
                    conn.execute("SELECT setval(%s, %s, false)", (name, start))
                else:
                    conn.execute("SELECT setval(%s, %s, true)", (name, last))
        return True


class TestDatabases:
    """The run's databases, all named ``<prefix>_…`` so that the end of the run (or the next run,
    when this one was killed) drops them all."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, prefix, admin, packages):
        self.prefix, self.admin, self.packages = prefix, admin, packages
        self.templates = {}  # kind -> Template
        self.idle = {}  # kind -> [names]
        self.kind_of = {}  # name -> kind
        self.in_use = []
        self.counter = itertools.count(1)
        self.made = self.reused = self.dropped = 0

    def template(self, kind):
        if kind not in self.templates:
            name = f"{self.prefix}_{kind}_template"
            apply(database_url(name), self.packages[kind])
            with psycopg.connect(database_url(name), autocommit=True) as conn:
                self.templates[kind] = Template(name, conn)
        return self.templates[kind]

    def take(self, kind):
        """The URL of a database of ``kind`` in its template's state, for the running test."""
        template = self.template(kind)
        idle = self.idle.setdefault(kind, [])
        if idle:
            name = idle.pop()
            self.reused += 1
        else:
            name = f"{self.prefix}_{kind}_{next(self.counter)}"
            with self.admin() as conn:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template.name)
                    )
                )
            self.kind_of[name] = kind
            self.made += 1
        self.in_use.append(name)
        return database_url(name)

    def give_back(self):
        """After a test's teardown: its databases restored to their template's state for the next
        test, or dropped when that cannot be done."""
        names, self.in_use = self.in_use, []
        for name in names:
            kind = self.kind_of[name]
            try:
                with psycopg.connect(database_url(name), autocommit=True) as conn:
                    restored = self.templates[kind].restore(conn)
            except psycopg.Error:
                restored = False
            if restored:
                self.idle[kind].append(name)
            else:
                self.drop([name])

    def drop(self, names):
        with self.admin() as conn:
            for name in names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                self.dropped += 1
