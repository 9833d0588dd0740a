/* proc_status.h — a figure of a process's /proc/PID/status. */
#ifndef GL_PROC_STATUS_H
#define GL_PROC_STATUS_H

#include <sys/types.h>

/* gl_proc_status_kb returns the value in kB of line `key` ("VmHWM",
 * "RssAnon", ...) of /proc/PID/status (pid 0: this process); -1 when the
 * process or the line is missing. */
long gl_proc_status_kb(pid_t pid, const char *key);

#endif
