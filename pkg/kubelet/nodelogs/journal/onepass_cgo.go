//go:build linux && cgo

package journal

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>
#include <systemd/sd-journal.h>

// The fields an entry contributes to a short-precise line, in the order of
// onePassFields on the Go side.
static const char *kn_fields[] = {
	"MESSAGE", "_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM",
	"SYSLOG_PID", "_PID", "_SOURCE_REALTIME_TIMESTAMP", "_BOOT_ID",
};
#define KN_NFIELDS (sizeof(kn_fields) / sizeof(kn_fields[0]))
static size_t kn_field_len[KN_NFIELDS];

typedef int (*kn_realtime_fn)(sd_journal *, uint64_t *);
typedef void (*kn_restart_fn)(sd_journal *);
typedef int (*kn_enumerate_fn)(sd_journal *, const void **, size_t *);

static kn_realtime_fn kn_realtime;
static kn_restart_fn kn_restart;
static kn_enumerate_fn kn_enumerate;

// kn_resolve finds sd-journal's functions in the libsystemd that
// go-systemd has already loaded; RTLD_NOLOAD never loads a second copy.
static int kn_resolve(void) {
	for (size_t i = 0; i < KN_NFIELDS; i++)
		kn_field_len[i] = strlen(kn_fields[i]);
	const char *names[] = {"libsystemd.so.0", "libsystemd.so"};
	for (size_t i = 0; i < 2; i++) {
		void *h = dlopen(names[i], RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			continue;
		kn_realtime = (kn_realtime_fn)dlsym(h, "sd_journal_get_realtime_usec");
		kn_restart = (kn_restart_fn)dlsym(h, "sd_journal_restart_data");
		kn_enumerate = (kn_enumerate_fn)dlsym(h, "sd_journal_enumerate_data");
		if (kn_realtime && kn_restart && kn_enumerate)
			return 0;
	}
	return -1;
}

// kn_read_entry walks the current entry's data once and copies the first
// value of each wanted field into buf, recording where it put it (len -1:
// the entry lacks the field). It returns the bytes the values need, which
// may exceed cap (then nothing past cap was written and the caller grows
// buf and calls again), or sd-journal's negative errno.
static int64_t kn_read_entry(sd_journal *j, char *buf, size_t cap, int64_t *off, int64_t *len, uint64_t *realtime) {
	int r = kn_realtime(j, realtime);
	if (r < 0)
		return r;
	for (size_t i = 0; i < KN_NFIELDS; i++)
		len[i] = -1;
	size_t used = 0;
	const void *data;
	size_t size;
	kn_restart(j);
	while ((r = kn_enumerate(j, &data, &size)) > 0) {
		const char *d = data;
		for (size_t i = 0; i < KN_NFIELDS; i++) {
			size_t n = kn_field_len[i];
			if (len[i] >= 0 || size <= n || d[n] != '=' || memcmp(d, kn_fields[i], n) != 0)
				continue;
			size_t v = size - n - 1;
			if (used + v <= cap)
				memcpy(buf + used, d + n + 1, v);
			off[i] = used;
			len[i] = v;
			used += v;
			break;
		}
	}
	if (r < 0)
		return r;
	return used;
}
*/
import "C"

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/coreos/go-systemd/v22/sdjournal"
)

// onePass is go-systemd's journal with one change: an entry's fields are
// read in a single cgo call that walks its data once, instead of one
// sd_journal_get_data per field, each of which walks the entry's data again
// and costs a cgo call, a C string and a symbol lookup. That was two
// thirds of a query's CPU. go-systemd still opens, matches, seeks and
// waits.
type onePass struct {
	*sdjournal.Journal
	c   *C.sd_journal
	buf []byte
}

// onePassFields names kn_fields' slots on the Go side.
var onePassFields = [...]string{
	fieldMessage, fieldHostname, fieldIdentifier, fieldComm,
	fieldSyslogPID, fieldPID, fieldSourceRealtime, fieldBootID,
}

var resolveOnce = sync.OnceValue(func() bool { return C.kn_resolve() == 0 })

// withOnePass wraps j for one-pass reads when sd-journal's functions and
// go-systemd's journal handle can be found, and returns j as it is
// otherwise: reads then go field by field, with the same results.
func withOnePass(j *sdjournal.Journal) Reader {
	c := journalHandle(j)
	if c == nil || !resolveOnce() {
		return j
	}
	return &onePass{Journal: j, c: c, buf: make([]byte, 4096)}
}

// journalHandle is go-systemd's sd_journal pointer, an unexported field
// that its API does not hand out. nil when a later go-systemd changes
// the field's name or type; TestOnePassFindsGoSystemdsHandle fails then.
func journalHandle(j *sdjournal.Journal) *C.sd_journal {
	f, ok := reflect.TypeOf(j).Elem().FieldByName("cjournal")
	if !ok || f.Type.Kind() != reflect.Pointer || !strings.HasSuffix(f.Type.Elem().Name(), "sd_journal") {
		return nil
	}
	return *(**C.sd_journal)(unsafe.Add(unsafe.Pointer(j), f.Offset))
}

// readEntry reads what readEntry reads field by field, in one walk.
func (o *onePass) readEntry() (entry, error) {
	var e entry
	var off, length [len(onePassFields)]C.int64_t
	var realtime C.uint64_t
	for {
		n := C.kn_read_entry(o.c, (*C.char)(unsafe.Pointer(&o.buf[0])), C.size_t(len(o.buf)),
			&off[0], &length[0], &realtime)
		if n < 0 {
			return e, fmt.Errorf("reading the entry's fields: %w", syscall.Errno(-n))
		}
		if int(n) <= len(o.buf) {
			break
		}
		// The entry needs more room than any before it: grow and read it
		// again, since sd-journal's pointers do not outlive the walk.
		o.buf = make([]byte, 2*int(n))
	}
	e.realtime = uint64(realtime)
	to := [...]*string{&e.message, &e.hostname, &e.identifier, &e.comm, &e.syslogPID, &e.pid, &e.source, &e.bootID}
	for i, l := range length {
		if l < 0 {
			continue
		}
		*to[i] = string(o.buf[off[i] : off[i]+l])
	}
	e.hasMessage = length[0] >= 0
	return e, nil
}
