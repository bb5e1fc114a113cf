package web

import "testing"

func TestNeutralise(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"普通人", "普通人"},
		{"a=b", "a=b"},
		{"  ", "  "},
		{"=1+1", "'=1+1"},
		{"+cmd", "'+cmd"},
		{"-2", "'-2"},
		{"@x", "'@x"},
		{"\t=1", "'\t=1"},
		{"\tplain", "'\tplain"},
		{"\rplain", "'\rplain"},
		{" =1+1", "' =1+1"},
		{"   =HYPERLINK(\"http://x\")", "'   =HYPERLINK(\"http://x\")"},
		{"\n=cmd", "'\n=cmd"},
		{"\r\n+1", "'\r\n+1"},
		{" \n @SUM(A1)", "' \n @SUM(A1)"},
		{"\u3000-1", "'\u3000-1"},
		{"\u00a0=1", "'\u00a0=1"},
		{"\u200b@x", "'\u200b@x"},
		{"\ufeff=1", "'\ufeff=1"},
		{"＝1+1", "'＝1+1"},
		{" plain", " plain"},
		{"\nplain", "\nplain"},
	}
	for _, c := range cases {
		if got := neutralise(c.in); got != c.want {
			t.Errorf("neutralise(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
