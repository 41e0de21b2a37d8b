
audit-1’2