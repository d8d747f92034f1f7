"""The ids of the shipped flows the tests play (the bot itself finds flows by purpose)."""

CHECKIN_FLOW = "family_checkin"
