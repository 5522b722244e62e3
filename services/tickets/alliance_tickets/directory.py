"""The routing directory over the service's read model of the registry (no RPC on the way)."""

# Open cases per person, to give new work to whoever has the least.
_LOAD = """
LEFT JOIN (
    SELECT coalesce(responsible_id, proposed_id) AS person_id, count(*) AS open_cases
    FROM tickets
    WHERE status NOT IN ('resolved', 'closed', 'rejected', 'cancelled')
    GROUP BY 1
) load ON load.person_id = p.person_id
"""


class Directory:
    def __init__(self, session, merchant_id, district_id):
        self.session = session
        self.merchant_id = str(merchant_id)
        self.district_id = district_id

    def _people(self, condition, params):
        rows = self.session.fetchall(
            f"SELECT p.person_id FROM people_directory p {_LOAD} WHERE {condition}"
            " ORDER BY (p.district_id IS DISTINCT FROM %(district)s), coalesce(load.open_cases, 0), p.person_id",
            {**params, "district": self.district_id},
        )
        return [row["person_id"] for row in rows]

    def experts(self, skills):
        return self._people("p.skills @> %(skills)s", {"skills": sorted(skills)})

    def volunteers(self):
        return self._people("'volunteer' = ANY (p.roles)", {})

    def paired_members(self):
        return self._people(
            "p.person_id IN (SELECT member_id FROM pairing_directory WHERE merchant_id = %(merchant)s AND active)",
            {"merchant": self.merchant_id},
        )
