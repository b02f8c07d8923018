package attach

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/paasd/paasd/core"
)

// FrameType is the first byte of a frame.
type FrameType byte

// Frame types. Client → server: Stdin, StdinEOF, Resize. Server → client:
// Output, Exit, Error.
const (
	// FrameStdin carries bytes typed by the user (the dyno's stdin).
	FrameStdin FrameType = 'i'
	// FrameStdinEOF says the client's stdin ended; empty payload.
	FrameStdinEOF FrameType = 'e'
	// FrameResize carries the terminal size: rows then columns, each a
	// big-endian uint16 (4 bytes).
	FrameResize FrameType = 'r'
	// FrameOutput carries bytes the dyno wrote to its terminal.
	FrameOutput FrameType = 'o'
	// FrameExit carries the dyno's exit code as a big-endian int32 (4
	// bytes); it is the last frame of a session.
	FrameExit FrameType = 'x'
	// FrameError carries a UTF-8 message saying why the session failed
	// (no exit code is known); it is the last frame of a session.
	FrameError FrameType = 'E'
)

// MaxPayload is the largest frame payload (32 KiB); a longer frame is a
// protocol error.
const MaxPayload = 32 << 10

// headerLen is the frame header: the type byte and a big-endian uint32
// payload length.
const headerLen = 5

// Frame is one protocol frame.
type Frame struct {
	Type    FrameType
	Payload []byte
}

// ErrProtocol is wrapped by every framing error.
var ErrProtocol = fmt.Errorf("attach protocol error: %w", core.ErrInvalid)

// WriteFrame writes one frame to w in a single Write call.
func WriteFrame(w io.Writer, t FrameType, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("frame of %d bytes is over the %d-byte limit: %w", len(payload), MaxPayload, ErrProtocol)
	}
	buf := make([]byte, headerLen+len(payload))
	buf[0] = byte(t)
	binary.BigEndian.PutUint32(buf[1:headerLen], uint32(len(payload)))
	copy(buf[headerLen:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame from r. It returns io.EOF when r ends cleanly
// between frames, and an error wrapping ErrProtocol for an unknown type, an
// oversized length, a malformed fixed-size payload or a truncated frame.
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:1]); err != nil {
		return Frame{}, err
	}
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return Frame{}, fmt.Errorf("truncated frame header: %w", ErrProtocol)
	}
	t := FrameType(hdr[0])
	n := binary.BigEndian.Uint32(hdr[1:])
	switch t {
	case FrameStdin, FrameOutput, FrameError:
	case FrameResize, FrameExit:
		if n != 4 {
			return Frame{}, fmt.Errorf("frame %q needs a 4-byte payload, not %d: %w", t, n, ErrProtocol)
		}
	case FrameStdinEOF:
		if n != 0 {
			return Frame{}, fmt.Errorf("frame %q takes no payload, got %d bytes: %w", t, n, ErrProtocol)
		}
	default:
		return Frame{}, fmt.Errorf("unknown frame type 0x%02x: %w", hdr[0], ErrProtocol)
	}
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("frame of %d bytes is over the %d-byte limit: %w", n, MaxPayload, ErrProtocol)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("truncated frame payload: %w", ErrProtocol)
		}
		return Frame{}, err
	}
	return Frame{Type: t, Payload: p}, nil
}

// ResizePayload encodes a terminal size for FrameResize.
func ResizePayload(s core.TermSize) []byte {
	var b [4]byte
	binary.BigEndian.PutUint16(b[0:2], s.Rows)
	binary.BigEndian.PutUint16(b[2:4], s.Cols)
	return b[:]
}

// Size decodes a FrameResize payload.
func (f Frame) Size() core.TermSize {
	if len(f.Payload) != 4 {
		return core.TermSize{}
	}
	return core.TermSize{Rows: binary.BigEndian.Uint16(f.Payload[0:2]), Cols: binary.BigEndian.Uint16(f.Payload[2:4])}
}

// ExitPayload encodes an exit code for FrameExit.
func ExitPayload(code int) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	return b[:]
}

// ExitCode decodes a FrameExit payload.
func (f Frame) ExitCode() int {
	if len(f.Payload) != 4 {
		return -1
	}
	return int(int32(binary.BigEndian.Uint32(f.Payload)))
}

// String returns the type's letter.
func (t FrameType) String() string { return string(rune(t)) }
