/* log.h — one logging macro for every process.
 *
 * GL_LOG checks the level before formatting, and stamps each line with the
 * UTC time, the level and the component ("broker", "worker:2", "gridline").
 * Lines go to stderr, or to syslog after log_to_syslog. log_limited() is for things a hostile peer can trigger
 * (bad frames): at most one line per key per second, with a count of what
 * was suppressed. */
#ifndef GL_LOG_H
#define GL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_threshold;

/* log_init sets the component name (copied) and level. */
void log_init(const char *component, int level);

/* log_level_parse maps "error", "warn", "info", "debug" to a level; -1 if
 * the name is unknown. */
int log_level_parse(const char *name);

void log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_limited writes like log_write, but for each distinct key at most one
 * line per second; suppressed lines are counted in the next one printed. */
void log_limited(int level, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_to_syslog sends the lines to syslog(3) from now on (facility daemon,
 * ident copied, the pid added), each with the priority of its level, instead
 * of stderr. */
void log_to_syslog(const char *ident);

/* log_gather(1) keeps the stderr lines this thread writes in a buffer, and
 * log_gather(0) writes them out in one write(2): for a worker that logs each
 * event of a batch as it answers the batch. A full buffer is written out at
 * once, so nothing waits long; syslog lines are not held. */
void log_gather(int on);

#define GL_LOG(level, ...)                                                   \
    do {                                                                     \
        if ((level) <= log_threshold)                                        \
            log_write((level), __VA_ARGS__);                                 \
    } while (0)

#define LOG_E(...) GL_LOG(LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) GL_LOG(LOG_WARN, __VA_ARGS__)
#define LOG_I(...) GL_LOG(LOG_INFO, __VA_ARGS__)
#define LOG_D(...) GL_LOG(LOG_DEBUG, __VA_ARGS__)

#endif
