"""The kinds of organisation the register holds (the ``organisations`` table's own check lists
the same), and the two the rules name."""

ORGANISATION_TYPES = (
    "alliance",
    "party_branch",
    "street_committee",
    "government_department",
    "bank",
    "education_institution",
    "enterprise",
)
ALLIANCE = "alliance"  # the alliance itself: the organisation that awards honours unless told otherwise
PARTY_BRANCH = "party_branch"  # the organisations Party members belong to
