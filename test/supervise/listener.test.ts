import { describe, expect, it } from "vitest";
import { formatIpv6, parseProcNetTcp } from "../../supervisor/supervise/listener.js";

// Captured on this machine while node servers listened on 127.0.0.1, 0.0.0.0 (as uid
// 65534), ::1 and ::, with one IPv4 and one v4-mapped IPv6 connection open.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 0100007F:AD01 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 297955 1 000000001a2d3488 100 0 0 10 0                    
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1146 1 00000000f825b7a6 100 0 0 10 0                      
   2: 0100007F:AD01 0100007F:BAA4 01 00000000:00000000 00:00000000 00000000     0        0 297959 1 00000000fa275346 20 0 0 10 -1                    
   3: 0100007F:BAA4 0100007F:AD01 01 00000000:00000000 00:00000000 00000000     0        0 297958 2 00000000a3c1f449 20 0 0 10 -1                    
   4: 00000000:AEA9 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 299719 1 000000009524f97d 100 0 0 10 0                    
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:A9CB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 297956 1 00000000f7a10638 100 0 0 10 0
   1: 00000000000000000000000000000000:9655 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 297957 1 00000000ff7c963c 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:9655 0000000000000000FFFF00000100007F:A10C 01 00000000:00000000 00:00000000 00000000     0        0 297961 1 0000000013ef5766 20 0 0 10 -1
   3: 0000000000000000FFFF00000100007F:A10C 0000000000000000FFFF00000100007F:9655 01 00000000:00000000 00:00000000 00000000     0        0 297960 2 00000000d76d7378 20 0 0 10 -1
`;

describe("/proc/net/tcp", () => {
  it("decodes little-endian IPv4 addresses, big-endian ports, state, uid and inode", () => {
    expect(parseProcNetTcp(TCP)).toEqual([
      { family: "tcp", localAddress: "127.0.0.1", localPort: 0xad01, state: "0A", uid: 0, inode: 297955 },
      { family: "tcp", localAddress: "0.0.0.0", localPort: 2024, state: "0A", uid: 0, inode: 1146 },
      { family: "tcp", localAddress: "127.0.0.1", localPort: 0xad01, state: "01", uid: 0, inode: 297959 },
      { family: "tcp", localAddress: "127.0.0.1", localPort: 0xbaa4, state: "01", uid: 0, inode: 297958 },
      { family: "tcp", localAddress: "0.0.0.0", localPort: 0xaea9, state: "0A", uid: 65534, inode: 299719 },
    ]);
  });

  it("decodes an address whose bytes differ (10.1.2.3) in the right order", () => {
    const line = "   0: 0302010A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1 0 100 0 0 10 0\n";
    expect(parseProcNetTcp(`header\n${line}`)).toEqual([
      { family: "tcp", localAddress: "10.1.2.3", localPort: 8080, state: "0A", uid: 1000, inode: 5 },
    ]);
  });

  it("returns nothing for a table with only its header", () => {
    expect(parseProcNetTcp(TCP.split("\n")[0]! + "\n")).toEqual([]);
  });

  it("refuses a line without the uid and inode columns", () => {
    expect(() => parseProcNetTcp("header\n   0: 0100007F:AD01 00000000:0000 0A\n")).toThrow(/malformed \/proc\/net\/tcp line/);
    expect(() => parseProcNetTcp("header\n   0: 0100:AD01 00000000:0000 0A 0:0 0:0 0 0 0 1\n")).toThrow(/expected 8 or 32 hex digits/);
  });
});

describe("/proc/net/tcp6", () => {
  it("decodes ::1, ::, and v4-mapped ::ffff:127.0.0.1", () => {
    expect(parseProcNetTcp(TCP6).map((s) => [s.family, s.localAddress, s.localPort, s.state, s.uid, s.inode])).toEqual([
      ["tcp6", "::1", 0xa9cb, "0A", 0, 297956],
      ["tcp6", "::", 0x9655, "0A", 0, 297957],
      ["tcp6", "::ffff:127.0.0.1", 0x9655, "01", 0, 297961],
      ["tcp6", "::ffff:127.0.0.1", 0xa10c, "01", 0, 297960],
    ]);
  });

  it("decodes a global address word by word (2001:db8::8a2e:370:7334)", () => {
    // Bytes 20 01 0d b8 | 00 00 00 00 | 00 00 8a 2e | 03 70 73 34, each word as a
    // little-endian u32 printed with %08X.
    const line = "   0: B80D0120000000002E8A000034737003:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 9 1 0 100 0 0 10 0\n";
    expect(parseProcNetTcp(`header\n${line}`)).toEqual([
      { family: "tcp6", localAddress: "2001:db8::8a2e:370:7334", localPort: 443, state: "0A", uid: 1001, inode: 9 },
    ]);
  });
});

describe("IPv6 text (RFC 5952)", () => {
  const bytes = (hex: string): number[] => hex.match(/../g)!.map((b) => Number.parseInt(b, 16));
  it.each([
    ["00000000000000000000000000000001", "::1"],
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000ffff7f000001", "::ffff:127.0.0.1"],
    ["20010db8000000000000000000000001", "2001:db8::1"],
    ["20010db8000000010000000000000001", "2001:db8:0:1::1"],
    ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"],
    ["fe800000000000000000000000000000", "fe80::"],
    ["20010db8000100010001000100010001", "2001:db8:1:1:1:1:1:1"],
  ])("%s is %s", (hex, text) => {
    expect(formatIpv6(bytes(hex))).toBe(text);
  });
});
