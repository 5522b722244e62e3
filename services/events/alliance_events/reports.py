"""The figures of a period: activities by type and district, registrations, attendance, points."""


def stats(office, cmd):
    params = {"since": cmd["since"], "until": cmd["until"]}
    in_period = "a.starts_at >= %(since)s AND a.starts_at < %(until)s AND a.status <> 'draft'"
    by_type = office.session.fetchall(
        f"SELECT type AS key, count(*) AS activities FROM activities a WHERE {in_period} GROUP BY 1 ORDER BY 1", params
    )
    by_district = office.session.fetchall(
        f"SELECT unnest(organisers) AS key, count(*) AS activities FROM activities a WHERE {in_period}"
        " GROUP BY 1 ORDER BY 1",
        params,
    )
    registrations = office.session.fetchone(
        "SELECT count(*) AS registrations,"
        " count(*) FILTER (WHERE r.status IN ('confirmed', 'attended', 'no_show')) AS confirmed,"
        " count(*) FILTER (WHERE r.status = 'attended') AS attended,"
        " count(*) FILTER (WHERE r.status = 'no_show') AS no_shows,"
        " count(*) FILTER (WHERE r.status = 'waitlisted') AS waitlisted"
        f" FROM registrations r JOIN activities a ON a.id = r.activity_id WHERE {in_period}",
        params,
    )
    held = registrations["attended"] + registrations["no_shows"]
    top = office.session.fetchall(
        "SELECT p.person_id, sum(p.points) AS points, count(*) AS activities FROM points p"
        f" JOIN activities a ON a.id = p.activity_id WHERE {in_period} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        params,
    )
    points_awarded = office.session.fetchval(
        f"SELECT coalesce(sum(p.points), 0) FROM points p JOIN activities a ON a.id = p.activity_id WHERE {in_period}",
        params,
    )
    merchants = office.session.fetchall(
        "SELECT p.merchant_id::text, sum(p.points) AS points FROM points p"
        f" JOIN activities a ON a.id = p.activity_id WHERE {in_period} AND p.merchant_id IS NOT NULL"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        params,
    )
    return {
        "since": cmd["since"].isoformat(),
        "until": cmd["until"].isoformat(),
        "activities_by_type": {r["key"]: r["activities"] for r in by_type},
        "activities_by_district": {r["key"]: r["activities"] for r in by_district},
        **registrations,
        "attendance_rate": round(registrations["attended"] / held, 3) if held else None,
        "points_awarded": int(points_awarded),
        "top_participants": [{**t, "points": int(t["points"])} for t in top],
        "top_merchants": [{**m, "points": int(m["points"])} for m in merchants],
    }
