"""The daily digest: each person's actions due or overdue (and, as their sources land, the
handovers awaiting them, new lessons in their communities and peer-assist requests addressed
to them), each section only what that person may see, sent by e-mail once a day."""
