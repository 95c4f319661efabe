// Command notecheck is the third-party check of Vidimus's C2SP signed notes: it uses
// golang.org/x/mod/sumdb/note (an independent implementation) and Go's crypto/ed25519.
//
// It reads a JSON request on stdin (written by tests/go_note.rs), checks that
//
//   - our Ed25519 verifier keys parse with note.NewVerifier, and equal
//     note.NewEd25519VerifierKey of the same public key;
//   - our cosigner verifier keys (type 0x04) have the key id x/mod computes (x/mod then
//     refuses them only for their type);
//   - notes we signed open with note.Open (all listed keys verified), and tampered ones
//     do not;
//   - checkpoints we had cosigned verify with a cosignature/v1 verifier written here
//     from the C2SP tlog-cosignature text;
//
// and writes a JSON reply on stdout with a key pair from note.GenerateKey (a fixed
// seed), a note signed by it with note.Sign and cosigned here, for the Rust side to
// verify. Any failure exits non-zero with a message on stderr.
//
// Run with GO111MODULE=off GOPATH=/usr/share/gocode (Debian's golang-golang-x-mod-dev).
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

type signedNote struct {
	Note  string   `json:"note"`
	VKeys []string `json:"vkeys"`
}

type cosignedNote struct {
	Note     string `json:"note"`
	LogVKey  string `json:"log_vkey"`
	Cosigner string `json:"cosigner_vkey"`
	Time     uint64 `json:"time"`
}

type request struct {
	VKeys         []string       `json:"vkeys"`
	PublicKeys    []string       `json:"public_keys"` // base64 Ed25519 keys, same order as VKeys
	CosignerVKeys []string       `json:"cosigner_vkeys"`
	Notes         []signedNote   `json:"notes"`
	BadNotes      []signedNote   `json:"bad_notes"`
	Cosigned      []cosignedNote `json:"cosigned"`
	Text          string         `json:"text"` // for Go to sign
}

type reply struct {
	Checked       []string `json:"checked"`
	SKey          string   `json:"skey"`
	VKey          string   `json:"vkey"`
	CosignerVKey  string   `json:"cosigner_vkey"`
	Note          string   `json:"note"`
	CosignatureAt uint64   `json:"cosignature_time"`
}

// keyID is the signed-note key id: SHA-256(name || "\n" || type || key)[:4].
func keyID(name string, typ byte, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{typ})
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// cosigVerifier verifies cosignature/v1 signatures: 8-byte big-endian time, then
// Ed25519 over "cosignature/v1\ntime <t>\n" || note text.
type cosigVerifier struct {
	name string
	key  ed25519.PublicKey
	last uint64
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return keyID(v.name, 0x04, v.key) }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	m := "cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n" + string(msg)
	if !ed25519.Verify(v.key, []byte(m), sig[8:]) {
		return false
	}
	v.last = t
	return true
}

// cosigSigner makes cosignature/v1 signatures at a fixed time.
type cosigSigner struct {
	name string
	priv ed25519.PrivateKey
	time uint64
}

func (s *cosigSigner) Name() string { return s.name }
func (s *cosigSigner) KeyHash() uint32 {
	return keyID(s.name, 0x04, s.priv.Public().(ed25519.PublicKey))
}
func (s *cosigSigner) Sign(msg []byte) ([]byte, error) {
	m := "cosignature/v1\ntime " + strconv.FormatUint(s.time, 10) + "\n" + string(msg)
	out := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(out, s.time)
	return append(out, ed25519.Sign(s.priv, []byte(m))...), nil
}

// parseCosignerVKey parses name+hex id+base64(0x04 || key), checking the id.
func parseCosignerVKey(vkey string) (*cosigVerifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("not name+id+key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, errors.New("not base64(0x04 || 32-byte key)")
	}
	id, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil || len(parts[1]) != 8 {
		return nil, errors.New("bad key id")
	}
	if uint32(id) != keyID(parts[0], 0x04, raw[1:]) {
		return nil, fmt.Errorf("key id %s is not %08x", parts[1], keyID(parts[0], 0x04, raw[1:]))
	}
	return &cosigVerifier{name: parts[0], key: ed25519.PublicKey(raw[1:])}, nil
}

func verifiers(vkeys []string) (note.Verifiers, error) {
	var list []note.Verifier
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("note.NewVerifier(%q): %v", k, err)
		}
		list = append(list, v)
	}
	return note.VerifierList(list...), nil
}

func run() (*reply, error) {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return nil, err
	}
	out := &reply{}
	check := func(s string, args ...interface{}) { out.Checked = append(out.Checked, fmt.Sprintf(s, args...)) }

	if len(req.VKeys) == 0 || len(req.VKeys) != len(req.PublicKeys) {
		return nil, errors.New("vkeys and public_keys must be non-empty and of one length")
	}
	for i, k := range req.VKeys {
		if _, err := note.NewVerifier(k); err != nil {
			return nil, fmt.Errorf("note.NewVerifier(%q): %v", k, err)
		}
		pub, err := base64.StdEncoding.DecodeString(req.PublicKeys[i])
		if err != nil {
			return nil, err
		}
		name := k[:strings.IndexByte(k, '+')]
		want, err := note.NewEd25519VerifierKey(name, ed25519.PublicKey(pub))
		if err != nil {
			return nil, err
		}
		if want != k {
			return nil, fmt.Errorf("our verifier key %q, x/mod's %q", k, want)
		}
		check("vkey %s parses and equals x/mod's", k)
	}
	for _, k := range req.CosignerVKeys {
		if _, err := parseCosignerVKey(k); err != nil {
			return nil, fmt.Errorf("cosigner vkey %q: %v", k, err)
		}
		// x/mod checks the key id over (type || key) before it looks at the type.
		if _, err := note.NewVerifier(k); err == nil || err.Error() != "unknown verifier algorithm" {
			return nil, fmt.Errorf("note.NewVerifier(%q) = %v, want only an unknown algorithm", k, err)
		}
		check("cosigner vkey %s has the right key id", k)
	}
	for i, n := range req.Notes {
		vs, err := verifiers(n.VKeys)
		if err != nil {
			return nil, err
		}
		opened, err := note.Open([]byte(n.Note), vs)
		if err != nil {
			return nil, fmt.Errorf("note %d: note.Open: %v\n%s", i, err, n.Note)
		}
		if len(opened.Sigs) != len(n.VKeys) {
			return nil, fmt.Errorf("note %d: %d signatures verified, want %d", i, len(opened.Sigs), len(n.VKeys))
		}
		check("note %d opens with %d signatures", i, len(opened.Sigs))
	}
	for i, n := range req.BadNotes {
		vs, err := verifiers(n.VKeys)
		if err != nil {
			return nil, err
		}
		if _, err := note.Open([]byte(n.Note), vs); err == nil {
			return nil, fmt.Errorf("bad note %d opened:\n%s", i, n.Note)
		} else {
			check("bad note %d refused: %v", i, err)
		}
	}
	for i, c := range req.Cosigned {
		logV, err := note.NewVerifier(c.LogVKey)
		if err != nil {
			return nil, err
		}
		w, err := parseCosignerVKey(c.Cosigner)
		if err != nil {
			return nil, err
		}
		opened, err := note.Open([]byte(c.Note), note.VerifierList(logV, w))
		if err != nil {
			return nil, fmt.Errorf("cosigned %d: note.Open: %v\n%s", i, err, c.Note)
		}
		if len(opened.Sigs) != 2 || w.last != c.Time {
			return nil, fmt.Errorf("cosigned %d: %d signatures, time %d (want 2, %d)", i, len(opened.Sigs), w.last, c.Time)
		}
		if !strings.HasPrefix(opened.Text, strings.SplitN(c.LogVKey, "+", 2)[0]+"\n") {
			return nil, fmt.Errorf("cosigned %d: the origin line is not the log key's name", i)
		}
		check("cosigned checkpoint %d: log signature and cosignature at %d verify", i, w.last)
	}

	// Go's side: a key from a fixed seed, a note signed by it, cosigned here.
	seed := bytes.Repeat([]byte{0x42}, ed25519.SeedSize)
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seed), "go.example/log")
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	cpriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x43}, ed25519.SeedSize))
	cos := &cosigSigner{name: "go.example/witness", priv: cpriv, time: 1700000123}
	cpub := cpriv.Public().(ed25519.PublicKey)
	out.CosignerVKey = fmt.Sprintf("%s+%08x+%s", cos.name, cos.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{0x04}, cpub...)))
	msg, err := note.Sign(&note.Note{Text: req.Text}, signer, cos)
	if err != nil {
		return nil, err
	}
	out.SKey, out.VKey, out.Note, out.CosignatureAt = skey, vkey, string(msg), cos.time
	return out, nil
}

func main() {
	out, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "notecheck:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "notecheck:", err)
		os.Exit(1)
	}
}
