// Command checknote verifies one of our audit checkpoints with the Go checksum
// database's own signed-note package (golang.org/x/mod/sumdb/note) and checks an
// inclusion proof against its root with golang.org/x/mod/sumdb/tlog. With -tree dossiers
// the proof is checked against the tree of the checkpoint's extension line
// "dossiers <size> <base64 root>" (the dossier index) instead of the log's tree.
//
//	checknote -vkey <log vkey> -note checkpoint.txt [-tree dossiers] [-index I -leaf HEX -proof HEX,HEX,...]
//
// It prints "origin size base64-root" and exits 0 when the note verifies, 1 otherwise.
// With -witnesses the witnesses' cosignature/v1 keys are known too (through
// github.com/transparency-dev/formats/note), so that a known witness's invalid
// cosignature rejects the note, and the count of verified signatures includes theirs.
//
// With -sign it signs instead: the note text in the file -sign with the log's key -skey
// and cosigns it with each witness key of -wskeys (Ed25519 skeys, cosigned as
// cosignature/v1 at the current time), and prints the signed note.
//
//	checknote -sign text.txt -skey PRIVATE+KEY+… [-wskeys PRIVATE+KEY+…,…]
package main

import (
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func hash(text string) tlog.Hash {
	raw, err := hex.DecodeString(text)
	if err != nil || len(raw) != tlog.HashSize {
		fail("bad hash %q", text)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func main() {
	vkey := flag.String("vkey", "", "verifier key of the log")
	notePath := flag.String("note", "", "file holding the signed checkpoint note")
	index := flag.Int64("index", -1, "leaf index of an inclusion proof to check")
	leaf := flag.String("leaf", "", "hex leaf hash")
	proof := flag.String("proof", "", "comma-separated hex hashes of the inclusion proof")
	tree := flag.String("tree", "", "check the proof in the tree of this extension line instead")
	witnesses := flag.String("witnesses", "", "comma-separated cosignature/v1 vkeys of witnesses")
	signPath := flag.String("sign", "", "sign the note text in this file instead of verifying")
	skey := flag.String("skey", "", "with -sign: the log's signer key")
	wskeys := flag.String("wskeys", "", "with -sign: comma-separated witness signer keys")
	flag.Parse()

	if *signPath != "" {
		sign(*signPath, *skey, *wskeys)
		return
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("bad vkey: %v", err)
	}
	known := []note.Verifier{verifier}
	for _, w := range strings.Split(*witnesses, ",") {
		if w == "" {
			continue
		}
		cosigner, err := fnote.NewVerifierForCosignatureV1(w)
		if err != nil {
			fail("bad witness vkey: %v", err)
		}
		known = append(known, cosigner)
	}
	msg, err := os.ReadFile(*notePath)
	if err != nil {
		fail("read: %v", err)
	}
	n, err := note.Open(msg, note.VerifierList(known...))
	if err != nil {
		fail("note does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("not a checkpoint: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("bad size: %v", err)
	}
	rootRaw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootRaw) != tlog.HashSize {
		fail("bad root hash")
	}
	var root tlog.Hash
	copy(root[:], rootRaw)
	if *tree != "" {
		size, root = extensionTree(lines[3:], *tree)
	}
	if *index >= 0 {
		var path tlog.RecordProof
		for _, h := range strings.Split(*proof, ",") {
			if h != "" {
				path = append(path, hash(h))
			}
		}
		if err := tlog.CheckRecord(path, size, root, *index, hash(*leaf)); err != nil {
			fail("inclusion proof does not verify: %v", err)
		}
		fmt.Printf("included %d\n", *index)
	}
	fmt.Printf("%s %d %s %d\n", lines[0], size, lines[2], len(n.Sigs))
}

// extensionTree reads the size and root of the extension line "<name> <size> <base64 root>".
func extensionTree(extensions []string, name string) (int64, tlog.Hash) {
	for _, line := range extensions {
		fields := strings.Fields(line)
		if len(fields) != 3 || fields[0] != name {
			continue
		}
		size, err := strconv.ParseInt(fields[1], 10, 64)
		raw, err2 := base64.StdEncoding.DecodeString(fields[2])
		if err != nil || err2 != nil || len(raw) != tlog.HashSize {
			fail("bad %s line %q", name, line)
		}
		var root tlog.Hash
		copy(root[:], raw)
		return size, root
	}
	fail("no %s line in the checkpoint", name)
	return 0, tlog.Hash{}
}

// sign prints the note text of the file signed by the log's key and cosigned by each witness.
func sign(path, skey, wskeys string) {
	text, err := os.ReadFile(path)
	if err != nil {
		fail("read: %v", err)
	}
	logSigner, err := note.NewSigner(skey)
	if err != nil {
		fail("bad log signer key: %v", err)
	}
	signers := []note.Signer{logSigner}
	for _, w := range strings.Split(wskeys, ",") {
		if w == "" {
			continue
		}
		cosigner, err := fnote.NewSignerForCosignatureV1(w)
		if err != nil {
			fail("bad witness signer key: %v", err)
		}
		signers = append(signers, cosigner)
	}
	signed, err := note.Sign(&note.Note{Text: string(text)}, signers...)
	if err != nil {
		fail("sign: %v", err)
	}
	os.Stdout.Write(signed)
}
