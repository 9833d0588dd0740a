/* End to end: a worker with --grow-ahead-mb writes the store's data file
 * ahead while a terminal files events; it is SIGKILLed mid-load and
 * restarted. Every event the terminal heard "filed" for is in the store,
 * fsck finds nothing, and the data file is ahead of its pages in use but
 * never by more than the margin. */
#include "../common/gl.h"
#include "../common/store.h"
#include "../proto/client.h"
#include "support/testlib.h"
#include "tap.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)
#define MARGIN_MB 8
#define MAX_EVENTS 3000

static tl_env env;
static const char *const grow_args[] = {"--grow-ahead-mb", "8", "--heartbeat-ms", "200", NULL};

static void path_of(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", env.dir, name);
}

/* count_lines: the events the terminal heard "filed" for so far. */
static int count_lines(void)
{
    char p[300], buf[4096];
    path_of(p, sizeof p, "filed.txt");
    FILE *f = fopen(p, "r");
    int n = 0;
    if (!f)
        return 0;
    while (fgets(buf, sizeof buf, f))
        n++;
    fclose(f);
    return n;
}

/* run_terminal files events one after another until the stop file exists
 * (or MAX_EVENTS), writing the number of each one filed to filed.txt. */
static void run_terminal(void)
{
    char filed_path[300], stop_path[300];
    path_of(filed_path, sizeof filed_path, "filed.txt");
    path_of(stop_path, sizeof stop_path, "stop");
    int fd = open(filed_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    client *c = NULL;
    if (fd < 0 || client_open(&c, env.intake, NULL, NULL, 0) != 0)
        _exit(2);
    static char text[601];
    memset(text, 'x', sizeof text - 1);
    for (int i = 0; i < MAX_EVENTS && access(stop_path, F_OK) != 0; i++) {
        char id[32], line[40];
        snprintf(id, sizeof id, "grow-%05d", i);
        gl_event ev = {.id = id, .kind = GL_KIND_REQUEST, .category = "eldercare",
                       .community = "mingzhu", .grid = "mingzhu-g2", .text = text};
        client_filed f;
        if (client_submit(c, &ev, &f) == 0) {
            int n = snprintf(line, sizeof line, "%d\n", i);
            if (write(fd, line, (size_t)n) != n)
                _exit(3);
        }
    }
    client_close(&c);
    close(fd);
    _exit(0);
}

/* figures reads the pages in use (before and after reading the file's
 * size, which may grow meanwhile) and the file's size. */
static int figures(uint64_t *used_before, uint64_t *file, uint64_t *used_after)
{
    store_opts ro = {.read_only = 1};
    store *s = NULL;
    store_space sp;
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s/data.mdb", env.store);
    if (store_open(env.store, &ro, &s) != 0)
        return -1;
    int rc = store_space_get(s, &sp);
    *used_before = sp.map_used;
    rc |= stat(p, &st);
    *file = (uint64_t)st.st_size;
    rc |= store_space_get(s, &sp);
    *used_after = sp.map_used;
    store_close(&s);
    return rc ? -1 : 0;
}

/* wait_ahead waits (at most ms) until the file is at least min past the
 * pages in use; returns how far past it is then (0 if unknown). */
static uint64_t wait_ahead(uint64_t min, int ms)
{
    uint64_t before = 0, file = 0, after = 0;
    for (int waited = 0; waited <= ms; waited += 100) {
        if (figures(&before, &file, &after) == 0 && file >= after + min)
            break;
        tl_sleep_ms(100);
    }
    return file > before ? file - before : 0;
}

static int wait_filed(int n, int ms)
{
    int got = 0;
    for (int waited = 0; waited <= ms && (got = count_lines()) < n; waited += 50)
        tl_sleep_ms(50);
    return got;
}

int main(void)
{
    tl_setup(&env, "growahead");
    pid_t broker = tl_broker(&env, (const char *const[]){"--heartbeat-ms", "200", NULL});
    pid_t worker = tl_worker(&env, "w1", grow_args);
    if (tl_wait_workers(&env, 10000) != 0) {
        printf("Bail out! service did not come up\n");
        return 1;
    }
    fflush(stdout);
    pid_t term = fork();
    if (term == 0)
        run_terminal();

    ok(wait_filed(300, 20000) >= 300, "a terminal files events");
    uint64_t ahead = wait_ahead(4 * MIB, 10000);
    ok(ahead >= 4 * MIB, "the worker wrote the data file ahead of its pages in use (%llu KiB)",
       (unsigned long long)(ahead >> 10));
    uint64_t before = 0, file = 0, after = 0;
    int read_ok = figures(&before, &file, &after) == 0;
    ok(read_ok && file <= after + MARGIN_MB * MIB,
       "never more than %d MiB ahead (file %llu KiB, pages in use %llu KiB)", MARGIN_MB,
       (unsigned long long)(file >> 10), (unsigned long long)(after >> 10));

    int at_kill = wait_filed(count_lines() + 200, 20000);
    tl_kill9(worker);
    ok(!tl_alive(worker), "the worker is SIGKILLed mid-load (after %d events filed)", at_kill);
    worker = tl_worker(&env, "w1", grow_args);
    ok(tl_wait_workers(&env, 10000) == 0, "it starts again on the same store");
    int filed = wait_filed(at_kill + 300, 30000);
    ok(filed >= at_kill + 300, "filing goes on (%d events filed)", filed);

    char stop_path[300];
    path_of(stop_path, sizeof stop_path, "stop");
    FILE *f = fopen(stop_path, "w");
    if (f)
        fclose(f);
    int status = 0;
    for (int waited = 0; waited < 20000 && waitpid(term, &status, WNOHANG) == 0; waited += 50)
        tl_sleep_ms(50);
    if (tl_alive(term)) {
        kill(term, SIGKILL);
        waitpid(term, &status, 0);
    }
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the terminal stops");
    ahead = wait_ahead(4 * MIB, 10000);
    read_ok = figures(&before, &file, &after) == 0;
    ok(read_ok && file <= after + MARGIN_MB * MIB && ahead >= 4 * MIB,
       "idle, the file is ahead again, by at most %d MiB (%llu KiB)", MARGIN_MB,
       (unsigned long long)(ahead >> 10));
    is_int(WEXITSTATUS(tl_stop(worker)), 0, "the worker stops cleanly");
    tl_stop(broker);

    /* Every event the terminal heard "filed" for is in the store. */
    store_opts ro = {.read_only = 1};
    store *s = NULL;
    is_int(store_open(env.store, &ro, &s), 0, "the store opens");
    char p[300], line[64];
    path_of(p, sizeof p, "filed.txt");
    FILE *lf = fopen(p, "r");
    int heard = 0, found = 0;
    store_txn *t = NULL;
    if (s && lf && store_begin(s, 0, &t) == 0) {
        while (fgets(line, sizeof line, lf)) {
            char id[32];
            uint64_t seq;
            snprintf(id, sizeof id, "grow-%05d", atoi(line));
            heard++;
            found += store_event_find(t, id, &seq) == 0;
        }
        store_abort(&t);
    }
    if (lf)
        fclose(lf);
    ok(heard > 0 && found == heard, "all %d events heard filed are stored (%d found)", heard,
       found);
    store_fsck_report r;
    memset(&r, 0, sizeof r);
    is_int(s ? store_fsck(s, &r) : -1, 0, "fsck runs");
    is_int((int)r.problems, 0, "fsck finds no problem");
    for (int i = 0; i < r.nfirst && i < 5; i++)
        diag("%s", r.first[i]);
    store_close(&s);
    done_testing();
}
