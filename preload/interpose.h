/* What the interposed socket calls share with the other interposers. */
#ifndef REQPROF_INTERPOSE_H
#define REQPROF_INTERPOSE_H

/* fd is about to be closed (close, or syscall(SYS_close, fd)). */
void rp_interpose_closing(int fd);

#endif
