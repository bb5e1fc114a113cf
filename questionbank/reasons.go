package questionbank

import "fmt"

// reasons names each import and validation problem by a stable key, so the
// organizer page can say it in its own language: the key is looked up by
// the English format the problem is written with, and the format's
// arguments travel as the problem's params ({0}, {1}… in a page's text).
// A problem whose format is not listed keeps just its English message.
var reasons = map[string]string{
	"is empty":                "empty",
	"is not valid UTF-8 text": "not_utf8",
	"is too long (%d characters, at most %d)":                                      "too_long",
	"is too long (at most %d characters)":                                          "id_too_long",
	"must not contain spaces or control characters":                                "id_chars",
	"is empty; use single, multi, truefalse or text":                               "type_empty",
	"%q is not a known type; use single, multi, truefalse or text":                 "type_unknown",
	"%d is out of range; use 1 (easy), 2 (medium), 3 (hard) or leave it empty":     "difficulty_range",
	"%q is not a difficulty; use 1, 2 or 3 (easy, medium, hard) or leave it empty": "difficulty_bad",
	"%s is not a difficulty; use 1, 2 or 3 (easy, medium, hard) or leave it out":   "difficulty_bad",
	"is not a number":                                                     "not_number",
	"%q is not a number":                                                  "not_number",
	"%s is not a number":                                                  "not_number",
	"%g is out of range; use 0 to %d (0 means 1)":                         "weight_range",
	"%q is not supported; use zh or en":                                   "lang_unknown",
	"a %s question needs %d to %d options, got %d":                        "options_count",
	"key %q is not one of A to F":                                         "option_key",
	"key %s is used twice":                                                "option_key_twice",
	"option %c is missing but option %c is given":                         "option_gap",
	"is empty; give the key of the correct option":                        "answer_empty",
	"a single question has exactly one correct option, got %d (%s)":       "single_one_answer",
	"%q is not the key of an option (%s)":                                 "answer_not_option",
	"%s is given twice":                                                   "answer_twice",
	"a truefalse question has exactly the options T and F, in that order": "truefalse_options",
	"a truefalse question has exactly one answer, T or F; got %d":         "truefalse_one_answer",
	"a text question takes no options":                                    "text_no_options",
	"a text question takes no options; leave columns a to f empty":        "text_no_options",
	"a truefalse question uses only columns a (true) and b (false)":       "truefalse_columns",
	"is empty; give at least one accepted answer":                         "text_answer_empty",
	"has %d accepted answers, at most %d":                                 "text_answers_many",
	"%q has nothing left to compare once spaces are removed":              "text_answer_blank",
	"has a value but no name in the header row":                           "column_unnamed",
	"the same question (same type and text) is already on row %d":         "duplicate_question",
	"question id %q is already used on row %d":                            "duplicate_id",
	"unknown column %q; the columns are %s":                               "unknown_column",
	"column %q appears twice":                                             "column_twice",
	"the header has no %q column":                                         "column_missing",
	"must be a JSON object with the fields of a question":                 "json_not_object",
	"must be a string":                                                    "json_not_string",
	"must be a string or an array of strings":                             "json_answer_shape",
	"must be an array of strings or of objects with key and text":         "json_options_shape",
	"must be a string or an object with just key and text":                "json_option_shape",
	"unknown field; the fields are id, type, text, options, answer, category, difficulty, explanation, weight, lang": "json_unknown_field",
}

// fieldError formats a problem and names it by its reason.
func fieldError(field, format string, args ...any) FieldError {
	fe := FieldError{Field: field, Message: fmt.Sprintf(format, args...), Reason: reasons[format]}
	if fe.Reason != "" && len(args) > 0 {
		fe.Params = make([]any, len(args))
		for i, a := range args {
			switch a := a.(type) {
			case rune, byte: // an option key, printed with %c
				fe.Params[i] = fmt.Sprintf("%c", a)
			case Type:
				fe.Params[i] = string(a)
			default:
				fe.Params[i] = a
			}
		}
	}
	return fe
}
