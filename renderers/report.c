/*
 * The life of a struct rp_report: it owns its call tree.
 */
#include <string.h>

#include "report.h"

void rp_report_release(struct rp_report *report)
{
    rp_calltree_free(report->tree);
    memset(report, 0, sizeof *report);
}
