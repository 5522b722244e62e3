"""The signed-in person's inbox (the unread count is in the navigation of every page)."""

from .web import PREFIX, page


@page("GET", "/inbox")
def inbox(visit):
    query = {"limit": 50}
    if visit.request.args.get("unread") == "1":
        query["unread_only"] = True
    if visit.request.args.get("cursor"):
        query["cursor"] = visit.request.args["cursor"]
    found = visit.call("notifications", "list_inbox", **query)
    return visit.render(
        "inbox.html",
        section="inbox",
        messages=found["items"],
        next_cursor=found.get("next_cursor"),
        unread_only="unread_only" in query,
    )


@page("POST", "/inbox/read")
def mark_read(visit):
    ids = [int(i) for i in visit.form.getlist("id") if i.isdigit()]
    if ids:
        marked = visit.call("notifications", "mark_read", ids=ids[:500])
    else:
        marked = visit.call("notifications", "mark_read", all=True)
    return visit.redirect(f"{PREFIX}/inbox", "ok", visit.t("inbox.marked", n=marked["marked"]))
