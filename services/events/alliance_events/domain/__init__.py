"""The events service's rules, in plain Python: no SQL, no nameko, one concept per module.

- ``lifecycle`` — an activity's states and the moves between them;
- ``activity`` — what an activity is: its types, consistent times and seats, the facts its events carry;
- ``organisers`` — who organises an activity and may manage it;
- ``calendar`` — coordination between districts: clashing themed promotions;
- ``series`` — the dates of a recurring activity, counted before any is made;
- ``audience`` — whom an activity is for;
- ``registration`` — a registration's states, who registers (for whom), check-in codes, what is shown;
- ``seats`` — capacity, district quotas and the waiting list;
- ``evaluation`` — nominations, votes and winners of an evaluation (评选);
- ``reminders`` — which reminder is due before an activity starts.
"""
