//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a capture SMTP server on loopback: enough of RFC 5321 for
// a real client (EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with
// dot-unstuffing, RSET, NOOP, QUIT) and no relaying. It advertises AUTH
// and insists on the credentials it was given, which proves Alertmanager
// read the password file; it does not offer STARTTLS, so a config that
// requires TLS fails to deliver, as it would against a plain server.
type smtpServer struct {
	ln         net.Listener
	b          *inbox
	user, pass string
	wg         sync.WaitGroup
}

func newSMTPServer(t *testing.T, b *inbox, user, pass string) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, b: b, user: user, pass: pass}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) Addr() string { return s.ln.Addr().String() }

func (s *smtpServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			if err := s.session(c); err != nil && err != io.EOF {
				s.b.problem("smtp: %v", err)
			}
		}()
	}
}

// session speaks SMTP with one client until QUIT or an error.
func (s *smtpServer) session(c net.Conn) error {
	r := bufio.NewReader(c)
	reply := func(lines ...string) error {
		_, err := io.WriteString(c, strings.Join(lines, "\r\n")+"\r\n")
		return err
	}
	readLine := func() (string, error) {
		l, err := r.ReadString('\n')
		return strings.TrimRight(l, "\r\n"), err
	}
	if err := reply("220 127.0.0.1 capture ESMTP"); err != nil {
		return err
	}
	var (
		greeted, authed bool
		from            string
		rcpts           []string
	)
	for {
		line, err := readLine()
		if err != nil {
			return err
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			greeted = true
			err = reply("250-127.0.0.1 greets "+arg, "250-8BITMIME", "250-AUTH PLAIN LOGIN", "250 SIZE 10485760")
		case "HELO":
			greeted = true
			err = reply("250 127.0.0.1 greets " + arg)
		case "AUTH":
			if !greeted {
				err = reply("503 5.5.1 EHLO first")
				break
			}
			var ok bool
			ok, err = s.auth(arg, readLine, reply)
			if err != nil {
				return err
			}
			if !ok {
				s.b.problem("smtp: AUTH %s with wrong credentials", strings.Fields(arg + " x")[0])
				err = reply("535 5.7.8 authentication credentials invalid")
				break
			}
			authed = true
			err = reply("235 2.7.0 authentication successful")
		case "MAIL":
			if !authed {
				s.b.problem("smtp: MAIL without AUTH")
				err = reply("530 5.7.0 authentication required")
				break
			}
			from, rcpts = addrArg(arg, "FROM:"), nil
			err = reply("250 2.1.0 ok")
		case "RCPT":
			if from == "" {
				err = reply("503 5.5.1 MAIL first")
				break
			}
			rcpts = append(rcpts, addrArg(arg, "TO:"))
			err = reply("250 2.1.5 ok")
		case "DATA":
			if len(rcpts) == 0 {
				err = reply("503 5.5.1 RCPT first")
				break
			}
			if err := reply("354 end data with <CR><LF>.<CR><LF>"); err != nil {
				return err
			}
			var msg bytes.Buffer
			for {
				l, err := readLine()
				if err != nil {
					return err
				}
				if l == "." {
					break
				}
				msg.WriteString(strings.TrimPrefix(l, ".") + "\r\n") // dot-unstuffing
			}
			s.deliver(rcpts, msg.Bytes())
			from, rcpts = "", nil
			err = reply("250 2.0.0 ok: queued")
		case "RSET":
			from, rcpts = "", nil
			err = reply("250 2.0.0 ok")
		case "NOOP":
			err = reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return nil
		default:
			err = reply("502 5.5.2 command not implemented")
		}
		if err != nil {
			return err
		}
	}
}

// auth runs AUTH PLAIN (with or without an initial response) or AUTH LOGIN.
func (s *smtpServer) auth(arg string, readLine func() (string, error), reply func(...string) error) (bool, error) {
	mech, initial, _ := strings.Cut(arg, " ")
	challenge := func(prompt string) (string, error) {
		if err := reply("334 " + base64.StdEncoding.EncodeToString([]byte(prompt))); err != nil {
			return "", err
		}
		l, err := readLine()
		if err != nil {
			return "", err
		}
		b, err := base64.StdEncoding.DecodeString(l)
		return string(b), err
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		var resp string
		if initial != "" {
			b, err := base64.StdEncoding.DecodeString(initial)
			if err != nil {
				return false, nil
			}
			resp = string(b)
		} else {
			var err error
			if resp, err = challenge(""); err != nil {
				return false, err
			}
		}
		parts := strings.Split(resp, "\x00") // authzid, authcid, password
		return len(parts) == 3 && parts[1] == s.user && parts[2] == s.pass, nil
	case "LOGIN":
		user, err := challenge("Username:")
		if err != nil {
			return false, err
		}
		pass, err := challenge("Password:")
		if err != nil {
			return false, err
		}
		return user == s.user && pass == s.pass, nil
	}
	return false, nil
}

// addrArg extracts the address of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func addrArg(arg, prefix string) string {
	arg = strings.TrimSpace(arg)
	if len(arg) >= len(prefix) && strings.EqualFold(arg[:len(prefix)], prefix) {
		arg = arg[len(prefix):]
	}
	arg, _, _ = strings.Cut(strings.TrimSpace(arg), " ")
	return strings.Trim(arg, "<>")
}

// deliver parses a received message into a notification: the decoded
// subject is its title, and the alert names come from the subject or the
// decoded body parts.
func (s *smtpServer) deliver(rcpts []string, raw []byte) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		s.b.problem("smtp: unparseable message: %v", err)
		return
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		subject = m.Header.Get("Subject")
	}
	to, _ := dec.DecodeHeader(m.Header.Get("To"))
	body := decodeBody(m)
	s.b.add(notification{At: time.Now(), Via: viaEmail, Dest: strings.Join(rcpts, ","), To: to, Alerts: s.b.names(subject, body),
		Title: subject, Raw: body})
}

// decodeBody returns the text of every part, quoted-printable decoded.
func decodeBody(m *mail.Message) string {
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		b, _ := io.ReadAll(m.Body)
		return string(b)
	}
	var out strings.Builder
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		var rd io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			rd = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(rd)
		out.Write(b)
		out.WriteString("\n")
	}
	return out.String()
}
