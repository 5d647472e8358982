"""Invisible control characters are removed from outside text."""

from paperdigest.textclean import strip_unsafe


def test_bidi_override_removed():
    assert strip_unsafe("Eve\u202eevil") == "Eveevil"


def test_controls_removed_tab_newline_kept():
    assert strip_unsafe("a\x00b\x1bc\td\ne\x85") == "abc\td\ne"


def test_lone_surrogate_removed():
    assert strip_unsafe("x\ud800y") == "xy"


def test_ordinary_unicode_kept():
    assert strip_unsafe("Gökhan Žižek — $\\alpha$") == "Gökhan Žižek — $\\alpha$"
