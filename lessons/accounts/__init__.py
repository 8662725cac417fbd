"""Accounts: users and tokens, who may see which records, the audit log, single sign-on."""
