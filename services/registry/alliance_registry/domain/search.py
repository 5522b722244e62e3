"""Name search by fragment, as the stored ``name_grams`` column (migration 0002) serves it: the
characters and character pairs of a name, lower-cased. A fragment of one or two characters is one
element of that array; a longer one is found by all its pairs, then confirmed with ``LIKE``."""


def name_grams(fragment):
    """The elements of the stored ``name_grams`` array that every name containing ``fragment`` has
    (the same lower-casing as the SQL function), and whether they alone prove the match."""
    text = fragment.lower()
    if len(text) <= 2:
        return [text], True
    return sorted({text[i : i + 2] for i in range(len(text) - 1)}), False


def like_pattern(fragment):
    escaped = fragment.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
