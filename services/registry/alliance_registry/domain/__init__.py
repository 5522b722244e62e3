"""The registry's rules in plain Python: no SQL, no nameko. One concept per module:

- ``access`` — who may call what, and whose records a caller reaches (districts, own merchant);
- ``days`` — the alliance's day (China Standard Time);
- ``merchants`` — a merchant's statuses and their moves, and what a merchant changes itself;
- ``people`` — the roles a caller assigns and those the register implies, self-service fields;
- ``membership`` — Party members: party age, the floating member's transfer after six months;
- ``transfers`` — the transfer as a workflow (started, completed or declined), the activity card's period;
- ``honours`` — which honour needs stars and a year, who may be honoured;
- ``pairings`` — when a pairing (结对) may start and end;
- ``points`` — the members' points ledger (党员积分): which fact gives whom how many points, corrections, ranks;
- ``organisations`` — the kinds of organisation, their tree (no cycles), when one may be retired, liaisons;
- ``changes`` — what an update changes, and the version it expects;
- ``search`` — name fragments as the stored character pairs find them;
- ``paging`` — cursors that carry the last key and a fingerprint of their query;
- ``identifiers`` — credit codes, ID-card numbers and mobiles with their check characters;
- ``id_cards`` — ID-card numbers at rest: sealed, found by a keyed hash, shown masked;
- ``sign_in`` — one-time sign-in codes: who may sign in, the code's life and tries, how often, the token;
- ``roster`` — merchant rosters (CSV, XLSX): read, checked row by row, planned against the register.
"""
