/* log_syslog.c — log.c's syslog(3) output, apart because <syslog.h> and
 * log.h both name LOG_INFO and LOG_DEBUG (with other values). */
#include <stdio.h>
#include <syslog.h>

void log_syslog_open(const char *ident);
void log_syslog_line(int level, const char *line);

static char log_ident[64];

void log_syslog_open(const char *ident)
{
    snprintf(log_ident, sizeof log_ident, "%s", ident); /* openlog keeps the pointer */
    openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* level: log.h's 0 error, 1 warn, 2 info, 3 debug. */
void log_syslog_line(int level, const char *line)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    syslog(prio[level < 0 ? 0 : level > 3 ? 3 : level], "%s", line);
}
