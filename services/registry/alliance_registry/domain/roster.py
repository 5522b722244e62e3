"""Merchant rosters (CSV or XLSX): reading the file, checking each row, planning the import.

A roster has a header row naming its columns, in English or in Chinese, and one merchant per row.
Rows are numbered as a spreadsheet shows them (the header is row 1), so an error report points at
the line to fix. Every row is checked before anything is written: the file's own rules
(``check``), then the register's (``plan``: districts in the caller's scope, owners' mobiles
already taken by someone else of another name). One bad row rejects the roster with every row's
errors listed. A roster that passes is planned as new merchants, changed ones and identical ones
left alone, so importing the same roster again changes nothing.
"""

import base64
import binascii
import csv
import io
import zipfile

from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from alliance_platform.errors import ValidationError
from alliance_platform.inputs import Url

from .identifiers import valid_credit_code, valid_mobile
from .people import DEFAULT_LANGUAGE, MERCHANT_OWNER

COLUMNS = {
    "shop_name": ("商户名称", "店铺名称"),
    "district": ("商圈", "district_id"),
    "unit_no": ("摊位号", "铺位号"),
    "category": ("经营类别", "行业"),
    "credit_code": ("统一社会信用代码", "信用代码"),
    "contact_phone": ("联系电话",),
    "online_shop_url": ("网店链接",),
    "owner_name": ("负责人", "经营者"),
    "owner_mobile": ("负责人手机", "经营者手机"),
}
REQUIRED = ("shop_name", "district", "category", "credit_code")
# What an import reports: checked only (a dry run), or applied.
VALIDATED, IMPORTED = REPORT_STATUSES = ("validated", "imported")
# Roster fields that map straight to merchant columns.
FIELDS = ("shop_name", "district_id", "unit_no", "category", "contact_phone", "online_shop_url")
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in (column, *aliases)}


class RosterRow(Schema):
    """One roster line: a merchant as ``register_merchant`` takes it, the district by id or name,
    and optionally its owner (name and mobile), who is registered as a person if new."""

    shop_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    district = fields.String(required=True)
    unit_no = fields.String(load_default=None, validate=validate.Length(max=40))
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    credit_code = fields.String(required=True, validate=valid_credit_code)
    contact_phone = fields.String(load_default=None, validate=valid_mobile)
    online_shop_url = Url(load_default=None)  # bounded as register_merchant bounds it
    owner_name = fields.String(load_default=None, validate=validate.Length(min=1, max=50))
    owner_mobile = fields.String(load_default=None, validate=valid_mobile)


_row_schema = RosterRow()


def read(content, file_format):
    """The roster's rows as (row number, {column: text}) after its header; file errors raised."""
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("unreadable roster", {"content": ["not base64"]}) from exc
    table = _csv_rows(data) if file_format == "csv" else _xlsx_rows(data)
    header_at, header = next(((n, row) for n, row in table if any(row)), (None, None))
    if header is None:
        raise ValidationError("empty roster", {"content": ["the file has no header row"]})
    names = [_ALIASES.get(cell.strip()) if cell else None for cell in header]
    unknown = [cell for cell, name in zip(header, names, strict=True) if cell and name is None]
    missing = [column for column in REQUIRED if column not in names]
    if unknown or missing:
        messages = [f"unknown column {cell!r}" for cell in unknown] + [f"missing column {c!r}" for c in missing]
        raise ValidationError("unusable roster header", {"columns": messages})
    rows = []
    for number, row in table:
        if number <= header_at or not any(row):
            continue
        rows.append((number, {name: (cell or None) for name, cell in zip(names, row, strict=False) if name}))
    return rows


def _csv_rows(data):
    # Spreadsheet programs in China save CSV as GB18030 as often as UTF-8 (with or without a BOM).
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError("unreadable roster", {"content": ["neither UTF-8 nor GB18030 text"]})
    try:
        return [(n, [cell.strip() for cell in row]) for n, row in enumerate(csv.reader(io.StringIO(text)), 1)]
    except csv.Error as exc:
        raise ValidationError("unreadable roster", {"content": [f"not CSV: {exc}"]}) from exc


def _xlsx_rows(data):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValidationError("unreadable roster", {"content": ["not an XLSX workbook"]}) from exc
    try:
        sheet = workbook.worksheets[0]
        return [(n, [_cell_text(v) for v in row]) for n, row in enumerate(sheet.iter_rows(values_only=True), 1)]
    finally:
        workbook.close()


def _cell_text(value):
    # Phone numbers and codes typed into a spreadsheet often become numbers: 13912345678.0.
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check(rows, districts):
    """Load every row; returns (valid rows, row errors). ``districts`` maps ids and Chinese names to ids."""
    valid, errors = [], []
    first_seen, owners = {}, {}
    for number, raw in rows:
        problems = {}
        try:
            row = _row_schema.load({k: v for k, v in raw.items() if v is not None})
        except SchemaError as exc:
            row, problems = None, dict(exc.messages)
        if row is not None:
            district = districts.get(row["district"])
            if district is None:
                problems["district"] = [f"no district {row['district']!r}"]
            row["district_id"] = district
            if (row["owner_name"] is None) != (row["owner_mobile"] is None):
                problems["owner_mobile"] = ["give the owner's name and mobile together, or neither"]
            code = row["credit_code"]
            if code in first_seen:
                problems["credit_code"] = [f"repeats row {first_seen[code]}"]
            first_seen.setdefault(code, number)
            if row["owner_mobile"]:
                named = owners.setdefault(row["owner_mobile"], (row["owner_name"], number))
                if named[0] != row["owner_name"]:
                    problems["owner_name"] = [f"row {named[1]} gives this mobile to {named[0]}"]
        if problems:
            errors.append({"row": number, "credit_code": raw.get("credit_code"), "errors": problems})
        else:
            valid.append((number, row))
    return valid, errors


def plan(caller, rows, checked, existing, owners):
    """What importing the ``checked`` rows (of ``rows`` read) changes in the register, or a
    ValidationError listing every rejected row; ``existing`` maps credit codes to registered
    merchants, ``owners`` mobiles to registered people."""
    valid, errors = checked
    errors = list(errors)
    planned = {"create": [], "update": [], "unchanged": 0, "new_owners": {}}
    for number, row in valid:
        problems = _check_against_register(caller, row, existing, owners)
        if problems:
            errors.append({"row": number, "credit_code": row["credit_code"], "errors": problems})
            continue
        current = existing.get(row["credit_code"])
        if current is None:
            planned["create"].append(row)
        elif differences(current, row, owners):
            planned["update"].append((current, row))
        else:
            planned["unchanged"] += 1
    if errors:
        errors.sort(key=lambda error: error["row"])
        raise ValidationError(f"{len(errors)} of {len(rows)} rows rejected; nothing was imported", {"rows": errors})
    for row in planned["create"] + [row for _, row in planned["update"]]:
        if row["owner_mobile"] and row["owner_mobile"] not in owners:
            planned["new_owners"].setdefault(row["owner_mobile"], row)
    return planned


def report(planned, rows, dry_run):
    return {
        "status": VALIDATED if dry_run else IMPORTED,
        "rows": len(rows),
        "created": len(planned["create"]),
        "updated": len(planned["update"]),
        "unchanged": planned["unchanged"],
        "owners_registered": len(planned["new_owners"]),
    }


def _check_against_register(caller, row, existing, owners):
    problems = {}
    if not caller.covers_district(row["district_id"]):
        problems["district"] = [f"outside the districts you act for: {row['district_id']}"]
    current = existing.get(row["credit_code"])
    if current is not None and not caller.covers_district(current["district_id"]):
        problems["credit_code"] = [f"registered in {current['district_id']}, outside the districts you act for"]
    owner = owners.get(row["owner_mobile"])
    if owner is not None and owner["name"] != row["owner_name"]:
        problems["owner_mobile"] = ["this mobile belongs to a registered person of another name"]
    return problems


def differences(current, row, owners):
    """The merchant columns a row changes; an owner not yet registered is ``"new"``."""
    wanted = {field: row[field] for field in FIELDS}
    if row["owner_mobile"]:
        owner = owners.get(row["owner_mobile"])
        wanted["owner_id"] = owner["id"] if owner else "new"
    return {k: v for k, v in wanted.items() if current.get(k) != v}


def new_owner(row):
    """The person a row's owner is registered as when the register does not know their mobile."""
    return {
        "name": row["owner_name"],
        "mobile": row["owner_mobile"],
        "roles": [MERCHANT_OWNER],
        "skills": [],
        "language": DEFAULT_LANGUAGE,
        "district_id": row["district_id"],
    }
