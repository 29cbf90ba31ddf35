/**
 * IPv4/IPv6 addresses and CIDR blocks for the `network` condition, matched with node:net's
 * BlockList. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, what a dual-stack socket reports for
 * an IPv4 client) are treated as the IPv4 address they carry, on both sides (BlockList does so).
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net'

type Family = 'ipv4' | 'ipv6'

export interface Address { family: Family, address: string }

export interface ParsedBlock { family: Family, address: string, prefix: number }

/** Parses an address (an IPv6 zone such as `%eth0` is dropped); null when it is not one. */
export function parseAddress (text: string): Address | null {
  if (isIPv4(text)) return { family: 'ipv4', address: text }
  const zone = text.indexOf('%')
  const bare = zone === -1 ? text : text.slice(0, zone)
  return isIPv6(bare) ? { family: 'ipv6', address: bare } : null
}

/**
 * The 16-bit groups of a valid IPv6 address (8 of them), for the prefix checks only: the WHATWG
 * URL parser gives its canonical form (lower case, no dotted IPv4 tail), which leaves `::` to fill.
 */
function groups (address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1)
  const [head, tail] = canonical.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16))
}

/** True when any bit after the first `prefix` of these `bits`-wide words is set. */
function bitsBeyond (words: number[], bits: number, prefix: number): boolean {
  return words.some((word, i) => {
    const keep = Math.min(Math.max(prefix - i * bits, 0), bits)
    return (word & ((1 << (bits - keep)) - 1)) !== 0
  })
}

/** Parses `address` or `address/prefix`; returns an error message for anything else. */
export function parseCidr (text: string): ParsedBlock | string {
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  if (addressText.includes('%')) return 'zone ids are not allowed in a network'
  const address = parseAddress(addressText)
  if (address === null) return `${JSON.stringify(addressText)} is not an IPv4 or IPv6 address`
  const width = address.family === 'ipv6' ? 128 : 32
  let prefix = width
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1)
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > width) {
      return `prefix length must be an integer from 0 to ${width}`
    }
    prefix = Number(prefixText)
  }
  let hostBits: boolean
  if (address.family === 'ipv6') {
    const words = groups(address.address)
    const mapped = words.slice(0, 5).every((word) => word === 0) && words[5] === 0xffff
    if (mapped && prefix < 96) return 'an IPv4-mapped network needs a prefix length of at least 96'
    hostBits = bitsBeyond(words, 16, prefix)
  } else {
    hostBits = bitsBeyond(address.address.split('.').map(Number), 8, prefix)
  }
  if (hostBits) return 'address has bits set beyond the prefix length'
  return { ...address, prefix }
}

/** A predicate over address strings; unparsable addresses are outside every network. */
export function compileNetworks (blocks: ParsedBlock[]): (ip: string) => boolean {
  const list = new BlockList()
  for (const b of blocks) list.addSubnet(b.address, b.prefix, b.family)
  return (ip) => {
    const address = parseAddress(ip)
    return address !== null && list.check(address.address, address.family)
  }
}
