#include <string.h>

#include "book_kind.h"

const struct book_kind *book_kind_named(const char *name)
{
    if (strcmp(name, TRADE_KIND.name) == 0)
        return &TRADE_KIND;
    if (strcmp(name, TICKER_KIND.name) == 0)
        return &TICKER_KIND;
    return NULL;
}
