/* wzctl_audit.h - operator commands: `wzctl redis-acl`, and `wzctl audit
 * verify` and `wzctl audit export`: the
 * operator's view of the tamper-evident trail, straight from Redis or from
 * an export file, without going through a service. */
#ifndef WZCTL_AUDIT_H_INCLUDED
#define WZCTL_AUDIT_H_INCLUDED

#include "wz_report.h"
#include "wzctl.h"

/* Runs audit verify (a->file: offline) and returns the exit code: 0 intact,
 * 1 a chain is broken (the first bad entry is named on stdout), 2 usage or
 * configuration, 3 Redis unreachable. */
int wzctl_audit_verify(const wzctl_args_t *a);
/* Runs audit export; 0, or 2 / 3 as above. */
int wzctl_audit_export(const wzctl_args_t *a);

/* Runs redis-acl FILE: writes the ACL file for redis-server --aclfile (one
 * user per service, wz_acl) and any missing password files. 0 or 2. */
int wzctl_redis_acl(const wzctl_args_t *a);

/* Operator side of `wzctl report`: feeds every event of every region (or
 * a->region) from the audit streams in Redis into report. 0, or 2 / 3 as above. */
int wzctl_report_redis(const wzctl_args_t *a, wz_report_t *report);
/* The policy of a->config's settings for report targets; NULL after printing why. */
wz_policy_t *wzctl_report_policy(const wzctl_args_t *a);

#endif
