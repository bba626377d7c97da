build-merge/obj/preload/report_budget.o: preload/report_budget.c \
 preload/report_budget.h
preload/report_budget.h:
