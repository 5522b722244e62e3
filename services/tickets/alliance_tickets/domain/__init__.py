"""The demand list's rules in plain Python: no SQL, no nameko, one concept per module.

- ``lifecycle``: the states of a demand and which step may follow which;
- ``access``: who may see and handle a ticket, and which tickets a caller's lists cover;
- ``routing``: who a new demand is proposed to (四服), by the operator's rule table;
- ``checklists``: the steps of a checklist-style demand, ticked off one by one;
- ``working_time``: the service centre's calendar, in which every SLA is counted;
- ``sla``: the categories, handling modes and their first-response and resolution targets;
- ``deadlines``: what the SLA sweep owes a ticket now (warnings, escalation levels);
- ``follow_up``: the call to a merchant who gave a poor rating (回访).
"""
