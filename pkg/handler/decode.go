package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
	"unicode/utf8"

	"function/pkg/events"
)

// checkContentType accepts what the data may be decoded from as JSON: no
// datacontenttype, or one whose media type (case-insensitive, parameters
// ignored) is */json or */*+json.
func checkContentType(ct string) error {
	if strings.TrimSpace(ct) == "" {
		return nil
	}

	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return fmt.Errorf("%w: datacontenttype %q: %w", ErrContentType, ct, err)
	}
	_, sub, ok := strings.Cut(mt, "/")
	if ok && (sub == "json" || strings.HasSuffix(sub, "+json")) {
		return nil
	}
	return fmt.Errorf("%w: datacontenttype %q is not JSON (want application/json, "+
		"*/json or */*+json)", ErrContentType, ct)
}

// decode turns data into a T, telling a real event from other JSON. Fields
// of data that T does not know are ignored, so producers may add fields.
func decode[T events.Event](data []byte) (T, error) {
	var v T
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return v, fmt.Errorf("%w: the event has no data", ErrBadData)
	}
	// JSON is UTF-8 (RFC 8259); encoding/json would silently turn invalid
	// bytes into U+FFFD, and a mail would go to an address nobody sent.
	if !utf8.Valid(data) {
		return v, fmt.Errorf("%w: data is not valid UTF-8", ErrBadData)
	}

	fields, err := objectFields(data)
	if err != nil {
		return v, err
	}
	if _, ok := fields["specversion"]; ok {
		return v, fmt.Errorf("%w: data is a whole CloudEvents envelope (it has "+
			"specversion); send the event's data alone", ErrBadData)
	}
	if len(fields) == 0 {
		return v, fmt.Errorf("%w: data is an empty JSON object", ErrBadData)
	}

	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%w: %w", ErrBadData, describe(fieldError[T](fields, err)))
	}
	return v, validate(v)
}

// fieldError names the field of an object that made decoding it fail with
// err. encoding/json names the field of a type mismatch but not of a value
// that a field's own UnmarshalJSON refused (a malformed time), so each field
// is decoded alone, in name order, until one fails.
func fieldError[T events.Event](fields map[string]json.RawMessage, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return err
	}

	for _, name := range slices.Sorted(maps.Keys(fields)) {
		one, _ := json.Marshal(map[string]json.RawMessage{name: fields[name]})
		var v T
		if ferr := json.Unmarshal(one, &v); ferr != nil {
			return fmt.Errorf("field %q: %w", name, ferr)
		}
	}
	return err
}

// objectFields decodes data as a JSON object, naming what it was instead.
func objectFields(data []byte) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	err := json.Unmarshal(data, &fields)
	if err == nil {
		return fields, nil
	}

	var inner string
	if json.Unmarshal(data, &inner) == nil {
		inner = strings.TrimSpace(inner)
		if strings.HasPrefix(inner, "{") && json.Valid([]byte(inner)) {
			return nil, fmt.Errorf("%w: data is a JSON string holding JSON (encoded "+
				"twice); send the JSON object itself", ErrBadData)
		}
		return nil, fmt.Errorf("%w: data is a JSON string, not an object", ErrBadData)
	}
	return nil, fmt.Errorf("%w: data is not a JSON object: %w", ErrBadData, describe(err))
}

// describe rewrites a JSON type error so it names the field and both types.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("field %q: JSON %s where %s is expected", te.Field, te.Value, te.Type)
	}
	if errors.As(err, &te) {
		return fmt.Errorf("JSON %s where an object is expected", te.Value)
	}
	return err
}

// validate applies v's own Validate method when it has one, and otherwise
// requires the entity id every [events.Event] has.
func validate[T events.Event](v T) error {
	if vv, ok := any(v).(interface{ Validate() error }); ok {
		if err := vv.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrBadData, err)
		}
		return nil
	}
	if v.GetId() == "" {
		return fmt.Errorf("%w: %w", ErrBadData, events.ErrEmptyID)
	}
	return nil
}
