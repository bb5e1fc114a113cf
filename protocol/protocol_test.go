package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unsafe"
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

// answerSeeds are answer messages as clients send them, and ones a little
// off in each way DecodeAnswer must either read as encoding/json does or
// leave to it.
var answerSeeds = []string{
	`{"type":"answer","id":"a17","data":{"room":"r-1","index":2,"choice":["B"]}}`,
	`{"type":"answer","id":"9","data":{"room":"r","index":0,"choice":["A","C","D"]}}`,
	`{"type":"answer","data":{"room":"r","index":2,"text":"长江"}}`,
	`{"data":{"text":"","index":-0,"room":""},"id":"","type":"answer"}`,
	" {\n\t\"type\" : \"answer\" , \"id\":\"x\", \"data\" : { \"room\" : \"r\" , \"index\" : 12 , \"choice\" : [ \"A\" ] } } \r\n",
	`{"type":"answer","id":"x","data":{"room":"r","index":1.0,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1e3,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":01,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":"1","choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":99999999999999999999,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":[]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":null}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":["A",1]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"text":null}}`,
	`{"type":"answer","id":"x","data":{"room":"r\u0041","index":1,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"Room":"r","index":1,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","room":"s","index":1,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":["A"],"extra":true}}`,
	`{"type":"answer","id":"x","data":null}`,
	`{"type":"answer","id":"x"}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":["A"]}} x`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":["A"]},}`,
	`{"type":"answer","id":"` + strings.Repeat("a", 65) + `","data":{"room":"r","index":1,"choice":["A"]}}`,
	`{"type":"answer","id":"` + strings.Repeat("a", 64) + `","data":{"room":"r","index":1,"choice":["A"]}}`,
	`{"type":"answer","id":7,"data":{"room":"r","index":1,"choice":["A"]}}`,
	`{"type":"ping","id":"x","data":{"t":1}}`,
	`{"type":"","id":"x","data":{}}`,
	"{\"type\":\"answer\",\"id\":\"x\",\"data\":{\"room\":\"r\xff\",\"index\":1,\"choice\":[\"A\"]}}",
	"{\"type\":\"answer\",\"id\":\"x\",\"data\":{\"room\":\"r\x01\",\"index\":1,\"choice\":[\"A\"]}}",
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":["A","B","C","D","E","F","G","H","I"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":-12,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":-,"choice":["A"]}}`,
	`{"type":"answer","id":"x","data":{"room":"r","index":1,"choice":["A"]`,
	`{"type":"answer","type":"answer","data":{"room":"r","index":1,"choice":["A"]}}`,
	`[]`, `null`, ``, `{}`,
}

// TestDecodeAnswerTakesWhatClientsSend: the one-pass decoder reads the
// answers the web client and the load generator send, to the fields the
// generic decoder gives, and leaves unusual input to it.
func TestDecodeAnswerTakesWhatClientsSend(t *testing.T) {
	for _, s := range answerSeeds[:5] {
		id, a, ok := DecodeAnswer([]byte(s), nil)
		if !ok {
			t.Fatalf("DecodeAnswer left %s to the generic decoder", s)
		}
		in, err := Decode([]byte(s))
		var want Answer
		if err == nil {
			err = DecodeData(in, &want)
		}
		if err != nil || in.ID != id || !reflect.DeepEqual(a, want) {
			t.Fatalf("%s: DecodeAnswer = %q %+v, generic %q %+v (%v)", s, id, a, in.ID, want, err)
		}
	}
	for _, s := range answerSeeds[5:] {
		if _, _, ok := DecodeAnswer([]byte(s), nil); ok {
			if _, err := Decode([]byte(s)); err != nil {
				t.Errorf("DecodeAnswer took %s, which the generic decoder refuses: %v", s, err)
			}
		}
	}
	// The caller's copy of the room is used when it has one.
	held := "r-1"
	_, a, _ := DecodeAnswer([]byte(answerSeeds[0]), func(b []byte) string {
		if string(b) == held {
			return held
		}
		return ""
	})
	if a.Room != held || unsafe.StringData(a.Room) != unsafe.StringData(held) {
		t.Fatalf("room %q is a copy, not the string held", a.Room)
	}
	msg := []byte(answerSeeds[0])
	if n := testing.AllocsPerRun(100, func() { DecodeAnswer(msg, func([]byte) string { return held }) }); n != 2 {
		t.Fatalf("DecodeAnswer allocates %v times, want 2 (the id, the choice)", n)
	}
}

// FuzzDecodeAnswer holds the one-pass decoder to the generic one: what it
// takes, Decode and DecodeData take too, to the same type, id and data;
// whatever it does not take is the generic decoder's to judge, so bad
// input gets the same error either way.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range answerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, a, ok := DecodeAnswer(b, nil)
		if !ok {
			if id != "" || !reflect.DeepEqual(a, Answer{}) {
				t.Fatalf("refused, yet returned %q %+v", id, a)
			}
			return
		}
		in, err := Decode(b)
		if err != nil {
			t.Fatalf("DecodeAnswer took %q, Decode refuses it: %v", b, err)
		}
		var want Answer
		if err := DecodeData(in, &want); err != nil {
			t.Fatalf("DecodeAnswer took %q, DecodeData refuses it: %v", b, err)
		}
		if in.Type != "answer" || in.ID != id || !reflect.DeepEqual(a, want) {
			t.Fatalf("%q: DecodeAnswer = %q %#v, generic %q %q %#v", b, id, a, in.Type, in.ID, want)
		}
		// With the caller's rooms, the same answer.
		_, a2, ok2 := DecodeAnswer(b, func(r []byte) string {
			if string(r) == want.Room {
				return want.Room
			}
			return ""
		})
		if !ok2 || !reflect.DeepEqual(a2, want) {
			t.Fatalf("%q: with a room held, %#v", b, a2)
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
