/*
 * events.h  Call event bus.  Every call/registration event is emitted here
 *           as one JSON object; sinks (the events_file, later the API's
 *           WebSocket) subscribe.  Main thread only.
 */
#ifndef AGENTLINE_EVENTS_H
#define AGENTLINE_EVENTS_H

typedef void (events_h)(const char *json, void *arg);

int  events_open_file(const char *path);
void events_close(void);
/* Add a subscriber; returns 0 or ENOMEM. */
int  events_subscribe(events_h *h, void *arg);
void events_unsubscribe(events_h *h, void *arg);

/* Emit {"ts":..,"event":NAME,"call":CALLID, <extra>} where extra is a
 * printf format producing zero or more `,"key":value` members (already
 * JSON-escaped by the caller; use events_esc for strings). */
void events_emit(const char *name, const char *callid,
		 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* JSON-escape s into buf (always terminated); returns buf. */
const char *events_esc(char *buf, unsigned sz, const char *s);

#endif
