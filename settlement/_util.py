from datetime import timedelta

ONE = timedelta(days=1)
