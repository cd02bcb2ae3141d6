# British English as Django words it, but times on the 24-hour clock the pages have always shown
# ("5 Jan 2025, 15:04", not "3:04 p.m."); every other locale keeps Django's own formats.
DATETIME_FORMAT = "j M Y, H:i"
