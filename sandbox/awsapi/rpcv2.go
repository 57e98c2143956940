package awsapi

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/gameday-dev/gameday/sandbox/sim"
)

// Smithy RPC v2 CBOR, the protocol of aws-sdk-go-v2's CloudWatch client
// (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html):
// POST /service/GraniteServiceVersion20100801/operation/ACTION with a CBOR
// map body; the answer is a CBOR map, errors a map with __type and message
// and, because the service is awsQueryCompatible, the query error code in
// X-Amzn-Query-Error ("Code;Sender").
//
// The request is flattened into the awsquery form the same actions read
// (lists become Name.member.N, nested structures Name.Field, timestamps ISO
// 8601), and the answer struct, tagged for XML, is walked into CBOR: one
// implementation of each action serves both protocols.

const rpcv2Prefix = "/service/GraniteServiceVersion20100801/operation/"

// cwErrorShapes maps CloudWatch's query error codes to the model's error
// shapes (botocore/aws-sdk-go-v2 cloudwatch model, awsQueryError traits).
var cwErrorShapes = map[string]string{
	"InvalidParameterValue":       "InvalidParameterValueException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"MissingParameter":            "MissingRequiredParameterException",
	"ResourceNotFound":            "ResourceNotFound",
	"InvalidNextToken":            "InvalidNextToken",
	"InvalidFormat":               "InvalidFormatFault",
	"LimitExceeded":               "LimitExceededFault",
	"InternalServiceError":        "InternalServiceFault",
}

// isRPCv2 reports whether a request is a Smithy RPC v2 call.
func isRPCv2(hr *http.Request) bool {
	return strings.HasPrefix(hr.URL.Path, "/service/")
}

func (h *handler) serveRPCv2(w http.ResponseWriter, hr *http.Request, reqID string) {
	service := ServiceCloudWatch
	if hr.Method != http.MethodPost || !strings.HasPrefix(hr.URL.Path, rpcv2Prefix) {
		writeRPCv2Error(w, reqID, &sim.APIError{Code: "UnknownOperationException", Message: "unknown service or method " + hr.Method + " " + hr.URL.Path, Status: http.StatusNotFound})
		return
	}
	action := strings.TrimPrefix(hr.URL.Path, rpcv2Prefix)
	def, known := actions[service][action]
	h.b.RecordAPICall(service, action, known && def.mutating)
	if !known {
		// As refuse.go answers a CBOR service the sandbox does not serve.
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("x-amzn-RequestId", reqID)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(cborTextMap("__type", "UnknownOperationException", "message", "gameday sandbox does not implement cloudwatch:"+action))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, maxBody))
	if err != nil {
		writeRPCv2Error(w, reqID, &sim.APIError{Code: "SerializationException", Message: err.Error(), Status: http.StatusBadRequest})
		return
	}
	form := url.Values{}
	if len(body) > 0 {
		v, err := cbor.Decode(body)
		if err != nil {
			writeRPCv2Error(w, reqID, &sim.APIError{Code: "SerializationException", Message: "malformed CBOR: " + err.Error(), Status: http.StatusBadRequest})
			return
		}
		m, ok := v.(cbor.Map)
		if !ok {
			writeRPCv2Error(w, reqID, &sim.APIError{Code: "SerializationException", Message: "the request body is not a CBOR map", Status: http.StatusBadRequest})
			return
		}
		if err := flattenCBOR(form, "", m, 0); err != nil {
			writeRPCv2Error(w, reqID, &sim.APIError{Code: "SerializationException", Message: err.Error(), Status: http.StatusBadRequest})
			return
		}
	}
	if err := h.faults.check(service, action); err != nil {
		writeRPCv2Error(w, reqID, err)
		return
	}
	out, err := def.fn(h, &request{service: service, action: action, p: params{form}, id: reqID})
	if err != nil {
		writeRPCv2Error(w, reqID, err)
		return
	}
	var b []byte
	if out != nil {
		b = cbor.Encode(toCBOR(reflect.ValueOf(out)))
	}
	hd := w.Header()
	hd.Set("Smithy-Protocol", "rpc-v2-cbor")
	hd.Set("x-amzn-RequestId", reqID)
	if len(b) > 0 {
		hd.Set("Content-Type", "application/cbor")
	}
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeRPCv2Error(w http.ResponseWriter, reqID string, err error) {
	ae := apiError(ServiceCloudWatch, err)
	if ae.Code == "InternalFailure" {
		ae.Code = "InternalServiceError"
	}
	shape, ok := cwErrorShapes[ae.Code]
	if !ok {
		shape = ae.Code
	}
	typ := "Sender"
	if ae.Status >= 500 {
		typ = "Receiver"
	}
	b := cbor.Encode(cbor.Map{
		"__type":  cbor.String("com.amazonaws.cloudwatch#" + shape),
		"message": cbor.String(ae.Message),
	})
	hd := w.Header()
	hd.Set("Smithy-Protocol", "rpc-v2-cbor")
	hd.Set("Content-Type", "application/cbor")
	hd.Set("x-amzn-RequestId", reqID)
	hd.Set("X-Amzn-Query-Error", ae.Code+";"+typ)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(ae.Status)
	_, _ = w.Write(b)
}

// flattenCBOR writes v into form under the awsquery name prefix.
func flattenCBOR(form url.Values, prefix string, v cbor.Value, depth int) error {
	if depth > 16 {
		return errors.New("the request nests too deeply")
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case cbor.Map:
		for k, e := range x {
			if err := flattenCBOR(form, join(k), e, depth+1); err != nil {
				return err
			}
		}
	case cbor.List:
		for i, e := range x {
			if err := flattenCBOR(form, join("member."+strconv.Itoa(i+1)), e, depth+1); err != nil {
				return err
			}
		}
	case cbor.String:
		form.Set(prefix, string(x))
	case cbor.Uint:
		form.Set(prefix, strconv.FormatUint(uint64(x), 10))
	case cbor.NegInt:
		if x == 0 {
			return errors.New("integer out of range")
		}
		form.Set(prefix, "-"+strconv.FormatUint(uint64(x), 10))
	case cbor.Float32:
		form.Set(prefix, strconv.FormatFloat(float64(x), 'g', -1, 32))
	case cbor.Float64:
		form.Set(prefix, strconv.FormatFloat(float64(x), 'g', -1, 64))
	case cbor.Bool:
		form.Set(prefix, strconv.FormatBool(bool(x)))
	case *cbor.Nil, *cbor.Undefined:
	case *cbor.Tag:
		if x.ID != 1 {
			return fmt.Errorf("%s: unexpected CBOR tag %d", prefix, x.ID)
		}
		t, err := cbor.AsTime(x)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		form.Set(prefix, t.UTC().Format(time.RFC3339Nano))
	case cbor.Slice:
		return fmt.Errorf("%s: blobs are not accepted", prefix)
	default:
		return fmt.Errorf("%s: unexpected CBOR value %T", prefix, v)
	}
	return nil
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// toCBOR converts an answer struct (tagged for encoding/xml) into CBOR:
// fields by their XML names, "Name>member" lists as lists, cwTime as an
// epoch-seconds timestamp (tag 1), omitempty as in XML.
func toCBOR(v reflect.Value) cbor.Value {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return &cbor.Nil{}
		}
		v = v.Elem()
	}
	if t, ok := v.Interface().(cwTime); ok {
		tt := time.Time(t)
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(tt.UnixMilli()) / 1000)}
	}
	switch v.Kind() {
	case reflect.Struct:
		m := cbor.Map{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("xml")
			if tag == "-" || !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			name, _, _ = strings.Cut(name, ">")
			if name == "" {
				name = f.Name
			}
			fv := v.Field(i)
			if strings.Contains(opts, "omitempty") && fv.IsZero() {
				continue
			}
			if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice) && fv.IsNil() {
				continue
			}
			if fv.Kind() == reflect.Struct && fv.NumField() == 0 {
				m[name] = cbor.List{} // an empty XML list element
				continue
			}
			if fv.Type() == reflect.TypeFor[cwTime]() && fv.IsZero() {
				continue
			}
			m[name] = toCBOR(fv)
		}
		return m
	case reflect.Slice:
		l := make(cbor.List, v.Len())
		for i := range l {
			l[i] = toCBOR(v.Index(i))
		}
		return l
	case reflect.String:
		return cbor.String(v.String())
	case reflect.Bool:
		return cbor.Bool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := v.Int()
		if n < 0 {
			return cbor.NegInt(uint64(-n))
		}
		return cbor.Uint(uint64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cbor.Uint(v.Uint())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) {
			return cbor.Float64(math.NaN())
		}
		return cbor.Float64(f)
	}
	if v.Type().Implements(textMarshaler) {
		b, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
		return cbor.String(string(b))
	}
	return &cbor.Nil{}
}
