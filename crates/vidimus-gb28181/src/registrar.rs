//! The platform side of GB/T 28181 devices (issue 14, item 2), sans-IO: cameras and
//! NVRs that speak only GB/T 28181 register with this platform (§9.1: REGISTER,
//! challenged with digest, the device's own code as the user), keep alive (§9.6:
//! MESSAGE Keepalive), and are offline when they stop — the registration expires or
//! keepalives stop for [`RegistrarConfig::keepalive_timeout_ms`].
//!
//! Only devices configured with an account are taken: a REGISTER from any other code is
//! refused (403) and reported, never challenged into existence. Nonces are the
//! server's HMAC nonces (`NonceMint`), bound to the address the challenge went to (an
//! answer overheard and replayed from elsewhere is forged), and good for one answer
//! (spent ones are remembered for their life): stale ones are challenged again with
//! `stale=TRUE`. [`MAX_WRONG`] wrong passwords from one address lock that address out
//! for a minute. The `200 OK` carries `Date` (devices set their
//! clocks from it, §9.10) and the `Expires` granted, bounded by the configuration.
//!
//! What to do with a device — its catalog, live sessions, recording — is the caller's:
//! this module says who is registered and online.

use std::collections::HashMap;

use vidimus_access::digest::{Authorization, Challenge, NonceCheck, NonceMint};

use crate::id::GbId;
use crate::manscdp::{Command, Envelope};
use crate::sip::{Method, NameAddr, Request, Response};

/// A device allowed to register, and its password.
#[derive(Clone)]
pub struct DeviceAccount {
    pub id: GbId,
    pub password: String,
}

impl std::fmt::Debug for DeviceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAccount")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How the registrar answers.
#[derive(Clone, Debug)]
pub struct RegistrarConfig {
    /// The digest realm (by custom this platform's code's first 10 digits).
    pub realm: String,
    /// The registration lifetimes granted: what a device asks, within these (seconds).
    pub min_expires: u32,
    pub max_expires: u32,
    /// A registered device that sends no keepalive for this long is offline (by
    /// custom three keepalive intervals of 60 s).
    pub keepalive_timeout_ms: u64,
    /// How long a nonce is good for (seconds).
    pub nonce_life_secs: u64,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            realm: String::new(),
            min_expires: 60,
            max_expires: 86_400,
            keepalive_timeout_ms: 180_000,
            nonce_life_secs: 300,
        }
    }
}

/// What happened, for the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A device registered (or refreshed its registration): where it is reached.
    Registered {
        id: String,
        contact: String,
        expires: u32,
    },
    /// A device said it is going (REGISTER with `Expires: 0`).
    Unregistered {
        id: String,
    },
    Keepalive {
        id: String,
    },
    /// A registered device's registration ran out or its keepalives stopped.
    Offline {
        id: String,
        why: String,
    },
    /// A request refused: who it claimed to be and why.
    Refused {
        claimed: String,
        why: String,
    },
}

struct Device {
    contact: String,
    /// The address its REGISTER came from: keepalives are taken only from there (a
    /// datagram naming its code from elsewhere cannot keep a dead device online).
    source: String,
    /// When the registration runs out (ms).
    until: u64,
    /// The last sign of life (ms).
    seen: u64,
}

/// Wrong passwords from one address for one device before that address is refused
/// for [`LOCKOUT_MS`] (the lock-out is per address: a stranger cannot lock a device out).
pub const MAX_WRONG: u32 = 5;
pub const LOCKOUT_MS: u64 = 60_000;

/// The devices' registrations.
pub struct Registrar {
    cfg: RegistrarConfig,
    accounts: HashMap<String, DeviceAccount>,
    mint: NonceMint,
    online: HashMap<String, Device>,
    /// Nonces answered (rightly or wrongly), and when they may be forgotten (ms): each
    /// is good for one answer, so an answer overheard cannot be sent again and every
    /// guess at a password costs a new challenge.
    spent: HashMap<String, u64>,
    /// Wrong passwords per (device, address): since when, how many.
    wrong: HashMap<(String, String), (u64, u32)>,
}

impl Registrar {
    pub fn new(cfg: RegistrarConfig, accounts: Vec<DeviceAccount>, mint: NonceMint) -> Self {
        Registrar {
            cfg,
            accounts: accounts
                .into_iter()
                .map(|a| (a.id.as_str().to_owned(), a))
                .collect(),
            mint,
            online: HashMap::new(),
            spent: HashMap::new(),
            wrong: HashMap::new(),
        }
    }

    /// Whether `id` is registered and alive.
    pub fn is_online(&self, id: &str) -> bool {
        self.online.contains_key(id)
    }

    /// Where a registered device is reached (its `Contact`).
    pub fn contact(&self, id: &str) -> Option<&str> {
        self.online.get(id).map(|d| d.contact.as_str())
    }

    /// Answers a device's REGISTER or MESSAGE (keepalive; other MESSAGEs are the
    /// caller's: `None`) that came from `source` (its IP address and port). `now_ms` is
    /// the monotonic clock, `date` the wall time for the `Date` header
    /// (`2026-12-04T20:22:42.000`, the site's local time).
    pub fn receive(
        &mut self,
        r: &Request,
        source: &str,
        now_ms: u64,
        date: &str,
        events: &mut Vec<DeviceEvent>,
    ) -> Option<Response> {
        let claimed = r
            .from()
            .ok()
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_default();
        match r.method {
            Method::Register => Some(self.register(r, &claimed, source, now_ms, date, events)),
            Method::Message => {
                let env = Envelope::parse(&r.body).ok()?;
                if !matches!(env.command(), Ok(Command::Keepalive { .. })) {
                    return None;
                }
                Some(match self.online.get_mut(&claimed) {
                    Some(d) if d.source == source => {
                        d.seen = now_ms;
                        events.push(DeviceEvent::Keepalive { id: claimed });
                        r.response(200, "OK", Some("vdk"))
                    }
                    Some(_) => {
                        events.push(DeviceEvent::Refused {
                            claimed,
                            why: format!("a keepalive from {source}, not where it registered from"),
                        });
                        r.response(403, "Forbidden", Some("vdk"))
                    }
                    None => {
                        // Not registered (forgotten after a restart, or never): a
                        // refusal makes a device register again.
                        events.push(DeviceEvent::Refused {
                            claimed,
                            why: "a keepalive from a device not registered".into(),
                        });
                        r.response(403, "Forbidden", Some("vdk"))
                    }
                })
            }
            _ => None,
        }
    }

    fn register(
        &mut self,
        r: &Request,
        claimed: &str,
        source: &str,
        now_ms: u64,
        date: &str,
        events: &mut Vec<DeviceEvent>,
    ) -> Response {
        let refuse = |events: &mut Vec<DeviceEvent>, status: u16, reason: &str, why: String| {
            events.push(DeviceEvent::Refused {
                claimed: claimed.to_owned(),
                why,
            });
            r.response(status, reason, Some("vdr"))
        };
        let Some(account) = self.accounts.get(claimed) else {
            return refuse(
                events,
                403,
                "Forbidden",
                format!("{claimed:?} is no device configured here"),
            );
        };
        let now_s = now_ms / 1000;
        let key = (claimed.to_owned(), source.to_owned());
        if let Some((since, n)) = self.wrong.get(&key)
            && *n >= MAX_WRONG
            && now_ms < since + LOCKOUT_MS
        {
            return refuse(
                events,
                403,
                "Forbidden",
                format!("{MAX_WRONG} wrong passwords from {source}: refused for a minute"),
            );
        }
        // Nonces are bound to the address the challenge went to: an answer replayed
        // from anywhere else is forged.
        let challenge = |stale: bool| {
            let mut c = Challenge::new(&self.cfg.realm, self.mint.mint_bound(now_s, source));
            c.stale = stale;
            let mut resp = r.response(401, "Unauthorized", Some("vdr"));
            resp.headers.push("WWW-Authenticate", c.to_header());
            resp
        };
        let Some(header) = r.headers.get("Authorization") else {
            return challenge(false);
        };
        let Ok(a) = Authorization::parse(header) else {
            return refuse(
                events,
                400,
                "Bad Request",
                "an unreadable Authorization header".into(),
            );
        };
        match self
            .mint
            .check_bound(&a.nonce, source, now_s, self.cfg.nonce_life_secs)
        {
            NonceCheck::Fresh if self.spent.contains_key(&a.nonce) => {
                events.push(DeviceEvent::Refused {
                    claimed: claimed.to_owned(),
                    why: "an answer to a challenge already answered".into(),
                });
                return challenge(false);
            }
            NonceCheck::Fresh => {
                self.spent.insert(
                    a.nonce.clone(),
                    now_ms + self.cfg.nonce_life_secs * 1000 + 5000,
                );
            }
            NonceCheck::Stale => return challenge(true),
            NonceCheck::Forged => {
                events.push(DeviceEvent::Refused {
                    claimed: claimed.to_owned(),
                    why: "a nonce not issued here".into(),
                });
                return challenge(false);
            }
        }
        if a.username != claimed || a.realm != self.cfg.realm {
            return refuse(
                events,
                403,
                "Forbidden",
                format!(
                    "answered as {:?} in realm {:?}, not as itself in {:?}",
                    a.username, a.realm, self.cfg.realm
                ),
            );
        }
        if !a.verify(&account.password, "REGISTER") {
            let e = self.wrong.entry(key).or_insert((now_ms, 0));
            if now_ms >= e.0 + LOCKOUT_MS {
                *e = (now_ms, 0);
            }
            e.1 += 1;
            return refuse(events, 403, "Forbidden", "a wrong password".into());
        }
        self.wrong.remove(&key);
        // Where the device is reached: its Contact (required).
        let Some(contact) = r
            .headers
            .get("Contact")
            .and_then(|c| NameAddr::parse(c).ok())
        else {
            return refuse(
                events,
                400,
                "Bad Request",
                "a REGISTER without a Contact".into(),
            );
        };
        // The lifetime: the Expires header, else the Contact's parameter; bounded.
        let asked: u32 = r
            .headers
            .get("Expires")
            .or_else(|| contact.params.get("expires").flatten())
            .and_then(|e| e.trim().parse().ok())
            .unwrap_or(3600);
        let contact = contact.uri.to_string();
        let mut resp = r.response(200, "OK", Some("vdr"));
        if asked == 0 {
            if self.online.remove(claimed).is_some() {
                events.push(DeviceEvent::Unregistered {
                    id: claimed.to_owned(),
                });
            }
            resp.headers.push("Expires", "0");
        } else {
            let expires = asked.clamp(self.cfg.min_expires, self.cfg.max_expires);
            self.online.insert(
                claimed.to_owned(),
                Device {
                    contact: contact.clone(),
                    source: source.to_owned(),
                    until: now_ms + u64::from(expires) * 1000,
                    seen: now_ms,
                },
            );
            events.push(DeviceEvent::Registered {
                id: claimed.to_owned(),
                contact,
                expires,
            });
            resp.headers.push("Expires", expires.to_string());
        }
        resp.headers.push("Date", date);
        resp
    }

    /// Devices whose registration ran out or whose keepalives stopped go offline; spent
    /// nonces and old counts of wrong passwords are forgotten.
    pub fn poll(&mut self, now_ms: u64, events: &mut Vec<DeviceEvent>) {
        self.spent.retain(|_, until| now_ms < *until);
        self.wrong
            .retain(|_, (since, _)| now_ms < *since + LOCKOUT_MS);
        let timeout = self.cfg.keepalive_timeout_ms;
        self.online.retain(|id, d| {
            let why = if now_ms >= d.until {
                "its registration ran out"
            } else if now_ms.saturating_sub(d.seen) >= timeout {
                "its keepalives stopped"
            } else {
                return true;
            };
            events.push(DeviceEvent::Offline {
                id: id.clone(),
                why: why.into(),
            });
            false
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Message;

    const DEVICE: &str = "44030500001320000009";
    const SRC: &str = "10.0.0.9:5060";

    impl Registrar {
        fn receive_from_device(
            &mut self,
            r: &Request,
            now_ms: u64,
            date: &str,
            events: &mut Vec<DeviceEvent>,
        ) -> Option<Response> {
            self.receive(r, SRC, now_ms, date, events)
        }
    }

    fn registrar() -> Registrar {
        Registrar::new(
            RegistrarConfig {
                realm: "4403050000".into(),
                ..RegistrarConfig::default()
            },
            vec![DeviceAccount {
                id: GbId::parse(DEVICE).unwrap(),
                password: "device secret".into(),
            }],
            NonceMint::new([3; 32]),
        )
    }

    fn register(device: &str, expires: u32, auth: Option<String>) -> Request {
        let mut text = format!(
            "REGISTER sip:44030500002000000001@4403050000 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1\r\n\
             From: <sip:{device}@4403050000>;tag=d1\r\nTo: <sip:{device}@4403050000>\r\n\
             Call-ID: reg1\r\nCSeq: 1 REGISTER\r\nContact: <sip:{device}@10.0.0.9:5060>\r\n\
             Expires: {expires}\r\n"
        );
        if let Some(a) = auth {
            text.push_str(&format!("Authorization: {a}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        let Message::Request(r) = Message::parse_datagram(text.as_bytes()).unwrap() else {
            panic!()
        };
        r
    }

    fn answer(resp: &Response, password: &str) -> String {
        let c = Challenge::parse(resp.headers.get("WWW-Authenticate").unwrap()).unwrap();
        Authorization::answer(
            &c,
            DEVICE,
            password,
            "REGISTER",
            "sip:44030500002000000001@4403050000",
            "",
            1,
        )
        .to_header()
    }

    fn keepalive(device: &str) -> Request {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Notify><CmdType>Keepalive</CmdType><SN>7</SN><DeviceID>{device}</DeviceID><Status>OK</Status></Notify>\r\n"
        );
        let text = format!(
            "MESSAGE sip:44030500002000000001@4403050000 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK2\r\n\
             From: <sip:{device}@4403050000>;tag=d2\r\nTo: <sip:44030500002000000001@4403050000>\r\n\
             Call-ID: ka1\r\nCSeq: 2 MESSAGE\r\nContent-Type: Application/MANSCDP+xml\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let Message::Request(r) = Message::parse_datagram(text.as_bytes()).unwrap() else {
            panic!()
        };
        r
    }

    #[test]
    fn a_device_registers_with_digest_keeps_alive_and_goes_offline() {
        let mut reg = registrar();
        let mut ev = Vec::new();
        let date = "2026-12-04T20:22:42.000";
        let c = reg
            .receive_from_device(&register(DEVICE, 3600, None), 0, date, &mut ev)
            .unwrap();
        assert_eq!(c.status, 401);
        assert!(ev.is_empty(), "a challenge is no event");
        let ok = reg
            .receive_from_device(
                &register(DEVICE, 3600, Some(answer(&c, "device secret"))),
                1000,
                date,
                &mut ev,
            )
            .unwrap();
        assert_eq!(ok.status, 200);
        assert_eq!(ok.headers.get("Expires"), Some("3600"));
        assert_eq!(ok.headers.get("Date"), Some(date));
        assert_eq!(
            ev.pop(),
            Some(DeviceEvent::Registered {
                id: DEVICE.into(),
                contact: format!("sip:{DEVICE}@10.0.0.9:5060"),
                expires: 3600
            })
        );
        assert!(reg.is_online(DEVICE));
        let spoofed = reg
            .receive(&keepalive(DEVICE), "10.6.6.6:5060", 60_000, date, &mut ev)
            .unwrap();
        assert_eq!(
            spoofed.status, 403,
            "a keepalive in its name from elsewhere"
        );
        assert!(matches!(ev.pop(), Some(DeviceEvent::Refused { .. })));
        let k = reg
            .receive_from_device(&keepalive(DEVICE), 60_000, date, &mut ev)
            .unwrap();
        assert_eq!(k.status, 200);
        assert_eq!(ev.pop(), Some(DeviceEvent::Keepalive { id: DEVICE.into() }));
        reg.poll(200_000, &mut ev);
        assert!(
            ev.is_empty() && reg.is_online(DEVICE),
            "within 180 s of the keepalive"
        );
        reg.poll(240_001, &mut ev);
        assert_eq!(
            ev.pop(),
            Some(DeviceEvent::Offline {
                id: DEVICE.into(),
                why: "its keepalives stopped".into()
            })
        );
        // Forgotten, its next keepalive is refused: it registers again.
        assert_eq!(
            reg.receive_from_device(&keepalive(DEVICE), 250_000, date, &mut ev)
                .unwrap()
                .status,
            403
        );
    }

    #[test]
    fn strangers_wrong_passwords_and_stale_nonces() {
        let mut reg = registrar();
        let mut ev = Vec::new();
        let d = "x";
        // A code with no account is refused, not challenged.
        let r = reg
            .receive_from_device(&register("44030500001320000099", 3600, None), 0, d, &mut ev)
            .unwrap();
        assert_eq!(r.status, 403);
        assert!(matches!(ev.pop(), Some(DeviceEvent::Refused { .. })));
        let c = reg
            .receive_from_device(&register(DEVICE, 3600, None), 0, d, &mut ev)
            .unwrap();
        let wrong = reg
            .receive_from_device(
                &register(DEVICE, 3600, Some(answer(&c, "guess"))),
                0,
                d,
                &mut ev,
            )
            .unwrap();
        assert_eq!(wrong.status, 403);
        assert!(!reg.is_online(DEVICE));
        // An answer to an old challenge: challenged again, stale.
        let stale = reg
            .receive_from_device(
                &register(DEVICE, 3600, Some(answer(&c, "device secret"))),
                400_000,
                d,
                &mut ev,
            )
            .unwrap();
        assert_eq!(stale.status, 401);
        assert!(
            stale
                .headers
                .get("WWW-Authenticate")
                .unwrap()
                .contains("stale=TRUE")
        );
        // A nonce minted elsewhere: challenged, reported.
        let other = Registrar::new(RegistrarConfig::default(), vec![], NonceMint::new([9; 32]));
        let mut c2 = Challenge::new("4403050000", other.mint.mint(0));
        c2.stale = false;
        let forged =
            Authorization::answer(&c2, DEVICE, "device secret", "REGISTER", "sip:x", "", 1);
        let f = reg
            .receive_from_device(
                &register(DEVICE, 3600, Some(forged.to_header())),
                0,
                d,
                &mut ev,
            )
            .unwrap();
        assert_eq!(f.status, 401);
        assert!(
            matches!(ev.pop(), Some(DeviceEvent::Refused { why, .. }) if why.contains("nonce"))
        );
    }

    #[test]
    fn lifetimes_are_bounded_and_zero_unregisters() {
        let mut reg = registrar();
        let mut ev = Vec::new();
        let c = reg
            .receive_from_device(&register(DEVICE, 5, None), 0, "x", &mut ev)
            .unwrap();
        let ok = reg
            .receive_from_device(
                &register(DEVICE, 5, Some(answer(&c, "device secret"))),
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        assert_eq!(
            ok.headers.get("Expires"),
            Some("60"),
            "at least min_expires"
        );
        reg.poll(60_000, &mut ev);
        assert!(
            matches!(ev.pop(), Some(DeviceEvent::Offline { why, .. }) if why.contains("registration"))
        );
        let c = reg
            .receive_from_device(&register(DEVICE, 3600, None), 0, "x", &mut ev)
            .unwrap();
        reg.receive_from_device(
            &register(DEVICE, 3600, Some(answer(&c, "device secret"))),
            0,
            "x",
            &mut ev,
        );
        let c = reg
            .receive_from_device(&register(DEVICE, 0, None), 0, "x", &mut ev)
            .unwrap();
        let bye = reg
            .receive_from_device(
                &register(DEVICE, 0, Some(answer(&c, "device secret"))),
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        assert_eq!(bye.headers.get("Expires"), Some("0"));
        assert_eq!(
            ev.pop(),
            Some(DeviceEvent::Unregistered { id: DEVICE.into() })
        );
        assert!(!reg.is_online(DEVICE));
        let account = DeviceAccount {
            id: GbId::parse(DEVICE).unwrap(),
            password: "device secret".into(),
        };
        assert!(
            !format!("{account:?}").contains("secret"),
            "no password in Debug"
        );
    }

    #[test]
    fn answers_are_good_once_from_where_they_were_challenged_and_guessing_is_slowed() {
        let mut reg = registrar();
        let mut ev = Vec::new();
        let c = reg
            .receive_from_device(&register(DEVICE, 3600, None), 0, "x", &mut ev)
            .unwrap();
        let overheard = answer(&c, "device secret");
        // Overheard and sent from elsewhere: the nonce was bound to the device's address.
        let replayed = reg
            .receive(
                &register(DEVICE, 86_400, Some(overheard.clone())),
                "10.6.6.6:5060",
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        assert_eq!(replayed.status, 401);
        assert!(!reg.is_online(DEVICE));
        let ok = reg
            .receive_from_device(
                &register(DEVICE, 3600, Some(overheard.clone())),
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        assert_eq!(ok.status, 200);
        // The same answer again, even from the same address: challenged afresh.
        ev.clear();
        let again = reg
            .receive_from_device(&register(DEVICE, 0, Some(overheard)), 0, "x", &mut ev)
            .unwrap();
        assert_eq!(again.status, 401);
        assert!(
            reg.is_online(DEVICE),
            "a replayed unregistration does nothing"
        );
        assert!(
            matches!(ev.pop(), Some(DeviceEvent::Refused { why, .. }) if why.contains("already"))
        );
        // Five wrong guesses from one address: refused for a minute, even the right one.
        let from = "10.7.7.7:5060";
        for _ in 0..MAX_WRONG {
            let c = reg
                .receive(&register(DEVICE, 3600, None), from, 1000, "x", &mut ev)
                .unwrap();
            let r = reg
                .receive(
                    &register(DEVICE, 3600, Some(answer(&c, "guess"))),
                    from,
                    1000,
                    "x",
                    &mut ev,
                )
                .unwrap();
            assert_eq!(r.status, 403);
        }
        let c = reg
            .receive(&register(DEVICE, 3600, None), from, 2000, "x", &mut ev)
            .unwrap();
        assert_eq!(c.status, 403, "locked out: not even challenged");
        // The device's own address is not locked out by the stranger's guesses.
        let c = reg
            .receive_from_device(&register(DEVICE, 3600, None), 2000, "x", &mut ev)
            .unwrap();
        assert_eq!(c.status, 401);
        reg.poll(62_000, &mut ev);
        let c = reg
            .receive(&register(DEVICE, 3600, None), from, 62_000, "x", &mut ev)
            .unwrap();
        assert_eq!(c.status, 401, "a minute later, challenged again");
    }

    #[test]
    fn a_register_needs_a_contact_and_may_give_its_lifetime_there() {
        let mut reg = registrar();
        let mut ev = Vec::new();
        let strip = |r: Request, contact: Option<&str>| {
            let mut r = r;
            r.headers.remove("Contact");
            r.headers.remove("Expires");
            if let Some(c) = contact {
                r.headers.push("Contact", c);
            }
            r
        };
        let c = reg
            .receive_from_device(&strip(register(DEVICE, 1, None), None), 0, "x", &mut ev)
            .unwrap();
        let r = reg
            .receive_from_device(
                &strip(register(DEVICE, 1, Some(answer(&c, "device secret"))), None),
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        assert_eq!(r.status, 400, "no Contact");
        let contact = format!("<sip:{DEVICE}@10.0.0.9:5060>;expires=120");
        let c = reg
            .receive_from_device(
                &strip(register(DEVICE, 1, None), Some(&contact)),
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        let r = reg
            .receive_from_device(
                &strip(
                    register(DEVICE, 1, Some(answer(&c, "device secret"))),
                    Some(&contact),
                ),
                0,
                "x",
                &mut ev,
            )
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.headers.get("Expires"), Some("120"));
    }
}
