/* The README's example: open, write, batch, read, close. */
#include <cairn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/cairn-example";
    cairn_options *opt = cairn_options_create();
    cairn_options_set_create_if_missing(opt, 1);

    cairn_db *db;
    int rc = cairn_db_open(opt, path, &db);
    cairn_options_destroy(opt);
    if (rc != CAIRN_OK) {
        fprintf(stderr, "open: %s\n", cairn_errmsg());
        return 1;
    }

    /* A single put, then an atomic batch. */
    rc = cairn_db_put(db, NULL, "greeting", 8, "hello", 5);
    cairn_batch *b = cairn_batch_create();
    cairn_batch_put(b, "a", 1, "1", 1);
    cairn_batch_delete(b, "greeting", 8);
    if (rc == CAIRN_OK)
        rc = cairn_db_write(db, NULL, b);
    cairn_batch_destroy(b);

    void *val;
    size_t len;
    if (rc == CAIRN_OK)
        rc = cairn_db_get(db, NULL, "a", 1, &val, &len);
    if (rc == CAIRN_OK) {
        printf("a = %.*s\n", (int)len, (char *)val);
        cairn_free(val);
        rc = cairn_db_get(db, NULL, "greeting", 8, &val, &len);
        if (rc == CAIRN_NOTFOUND) /* deleted by the batch */
            rc = CAIRN_OK;
        else
            rc = -100;
    }
    if (rc != CAIRN_OK)
        fprintf(stderr, "error: %s\n", cairn_errmsg());
    if (cairn_db_close(db) != CAIRN_OK)
        rc = 1;
    cairn_db_destroy(NULL, path);
    return rc == CAIRN_OK ? 0 : 1;
}
