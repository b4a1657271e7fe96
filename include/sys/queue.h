/*
 * NetBSD <sys/queue.h>: glibc's header supplies the LIST macros the port
 * uses; the *_FOREACH_SAFE variants it lacks are added here.
 */
#include_next <sys/queue.h>

#ifndef UVMEMU_SYS_QUEUE_H
#define UVMEMU_SYS_QUEUE_H

#ifndef LIST_FOREACH_SAFE
#define LIST_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = LIST_FIRST((head));				\
	    (var) && ((tvar) = LIST_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST((head));				\
	    (var) && ((tvar) = TAILQ_NEXT((var), field), 1);		\
	    (var) = (tvar))
#endif

#endif
