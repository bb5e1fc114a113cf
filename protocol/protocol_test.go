package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		in       string
		wantType string
		wantID   string
		wantCode string
	}{
		{`{"type":"ping","id":"1","data":{"t":5}}`, "ping", "1", ""},
		{`{"type":"hello"}`, "hello", "", ""},
		{`{"type":"x","id":"` + strings.Repeat("a", 64) + `"}`, "x", strings.Repeat("a", 64), ""},
		{`{"type":"x","id":"` + strings.Repeat("a", 65) + `"}`, "x", "", CodeBadRequest},
		{`{"id":"3"}`, "", "3", CodeBadRequest},
		{`{"type":5}`, "", "", CodeBadRequest},
		{`[1]`, "", "", CodeBadRequest},
		{`{"type":"ping",`, "", "", CodeBadRequest},
		{``, "", "", CodeBadRequest},
	}
	for _, c := range cases {
		in, err := Decode([]byte(c.in))
		code := ""
		if err != nil {
			code = err.Code
		}
		if code != c.wantCode || (c.wantCode == "" && (in.Type != c.wantType || in.ID != c.wantID)) {
			t.Errorf("Decode(%.40q) = %+v, %v; want type %q id %q code %q", c.in, in, err, c.wantType, c.wantID, c.wantCode)
		}
	}
}

func TestDecodeData(t *testing.T) {
	in, _ := Decode([]byte(`{"type":"answer","data":{"room":"r","index":"two"}}`))
	var a Answer
	if err := DecodeData(in, &a); err == nil || err.Code != CodeBadRequest {
		t.Fatalf("wrong field type: %v", err)
	}
	in, _ = Decode([]byte(`{"type":"answer","data":{"room":"r","index":2,"choice":["B"],"extra":1}}`))
	if err := DecodeData(in, &a); err != nil || a.Index != 2 || a.Choice[0] != "B" {
		t.Fatalf("good data: %+v %v", a, err)
	}
}

func TestEncodeAndFrame(t *testing.T) {
	b := Encode("pong", "7", Pong{T: 1, ServerTime: 2})
	if string(b) != `{"type":"pong","re":"7","data":{"t":1,"server_time":2}}` {
		t.Fatalf("Encode = %s", b)
	}
	f := &Frame{Parts: [][]byte{[]byte(`{"a":`), []byte(`1`), []byte(`}`)}}
	if string(f.Bytes()) != `{"a":1}` || f.Len() != 7 {
		t.Fatalf("frame bytes %s len %d", f.Bytes(), f.Len())
	}
	n := 0
	sh := NewShared([]byte("x"))
	for i := 0; i < 3; i++ {
		sh.Prepared(func(b []byte) any { n++; return string(b) })
	}
	if n != 1 {
		t.Fatalf("prepared %d times, want once", n)
	}
}

// FuzzDecode feeds arbitrary frames to the decoder: it must never panic, and
// whatever it accepts must have a type and a short id and re-encode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","id":"1","data":{"name":"张三"}}`,
		`{"type":"answer","id":"9","data":{"room":"r","index":2,"choice":["B"]}}`,
		`{"type":"answer","data":{"room":"r","index":2,"text":"长江"}}`,
		`{"type":"ping","data":{"t":1764365100000}}`,
		`{"type":"x","id":"` + strings.Repeat("a", 70) + `"}`,
		`[]`, `null`, `{"type":"\u0000"}`, `{"type":"a","data":[1,2]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := Decode(b)
		if err != nil {
			if err.Code != CodeBadRequest {
				t.Fatalf("error code %s", err.Code)
			}
			return
		}
		if in.Type == "" || len(in.ID) > MaxIDLen {
			t.Fatalf("accepted %+v", in)
		}
		var a Answer
		_ = DecodeData(in, &a)
		var h Hello
		_ = DecodeData(in, &h)
		out, jerr := json.Marshal(in)
		if jerr != nil || !bytes.Contains(out, []byte(`"type"`)) {
			t.Fatalf("re-encode: %v", jerr)
		}
	})
}

// FuzzEncodeAck holds the hand-written ack encoder to what Encode writes,
// byte for byte, for any request id and ack.
func FuzzEncodeAck(f *testing.F) {
	f.Add("a3", 3, true, int64(1234), false)
	f.Add("", 0, false, int64(0), true)
	f.Add(`q"\<>&`+"\u2028\x00é", -1, true, int64(-5), true)
	f.Add("\xff\xfe", 1<<40, true, int64(1)<<62, false)
	for _, re := range []string{"a&b", "a<b", "a>b", `a\b`, "a\tb", "a\x7fb", "文"} {
		f.Add(re, 1, true, int64(2), false)
	}
	f.Fuzz(func(t *testing.T, re string, index int, accepted bool, elapsed int64, dup bool) {
		a := Ack{Index: index, Accepted: accepted, Elapsed: elapsed, Duplicate: dup}
		got, want := EncodeAck(re, a), Encode("answer.ack", re, a)
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeAck(%q, %+v)\n got %s\nwant %s", re, a, got, want)
		}
	})
}

func TestPreparedAfter(t *testing.T) {
	f := NewShared([]byte(`{"type":"x"}`))
	made := 0
	mk := func(b []byte) any { made++; return string(b) }
	for i := range 3 {
		if p := f.PreparedAfter(3, mk); p != nil {
			t.Fatalf("write %d: prepared %v, want a plain write", i+1, p)
		}
	}
	for i := range 3 {
		if p := f.PreparedAfter(3, mk); p != `{"type":"x"}` {
			t.Fatalf("write %d: %v, want the prepared form", i+4, p)
		}
	}
	if made != 1 {
		t.Fatalf("prepared %d times, want once", made)
	}
}
