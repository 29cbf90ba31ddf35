/**
 * IPv4/IPv6 addresses and CIDR blocks for the `network` condition. IPv4-mapped IPv6 addresses
 * (`::ffff:1.2.3.4`, what a dual-stack socket reports for an IPv4 client) are treated as the IPv4
 * address they carry, on both sides.
 */
import { isIPv4, isIPv6 } from 'node:net'

type Address = { v6: false, value: number } | { v6: true, value: bigint }

interface V4Block { base: number, mask: number }
interface V6Block { base: bigint, mask: bigint }

const MAPPED_PREFIX = 0xffffn << 32n
const LOW_32 = 0xffffffffn
const ALL_128 = (1n << 128n) - 1n

function parseV4 (text: string): number {
  let value = 0
  for (const part of text.split('.')) value = value * 256 + Number(part)
  return value
}

function parseV6 (text: string): bigint {
  const split = (s: string): string[] => s === '' ? [] : s.split(':')
  const gap = text.indexOf('::')
  const left = gap === -1 ? split(text) : split(text.slice(0, gap))
  const right = gap === -1 ? [] : split(text.slice(gap + 2))
  const last = right.length > 0 ? right : left
  const tail = last[last.length - 1]
  if (tail !== undefined && tail.includes('.')) {
    const v4 = parseV4(tail)
    last.splice(last.length - 1, 1, (v4 >>> 16).toString(16), (v4 & 0xffff).toString(16))
  }
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  let value = 0n
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16))
  return value
}

function isMapped (value: bigint): boolean {
  return (value >> 32n) === 0xffffn
}

/** Parses an address (an IPv6 zone such as `%eth0` is dropped); null when it is not one. */
export function parseAddress (text: string): Address | null {
  if (isIPv4(text)) return { v6: false, value: parseV4(text) }
  const zone = text.indexOf('%')
  const bare = zone === -1 ? text : text.slice(0, zone)
  if (!isIPv6(bare)) return null
  const value = parseV6(bare)
  if (isMapped(value)) return { v6: false, value: Number(value & LOW_32) }
  return { v6: true, value }
}

export type ParsedBlock = { v6: false, block: V4Block } | { v6: true, block: V6Block }

/** Parses `address` or `address/prefix`; returns an error message for anything else. */
export function parseCidr (text: string): ParsedBlock | string {
  const slash = text.indexOf('/')
  const addressText = slash === -1 ? text : text.slice(0, slash)
  if (addressText.includes('%')) return 'zone ids are not allowed in a network'
  const address = parseAddress(addressText)
  if (address === null) return `${JSON.stringify(addressText)} is not an IPv4 or IPv6 address`
  const wasMapped = !address.v6 && !isIPv4(addressText)
  const width = address.v6 || wasMapped ? 128 : 32
  let prefix = width
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1)
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > width) {
      return `prefix length must be an integer from 0 to ${width}`
    }
    prefix = Number(prefixText)
  }
  if (wasMapped) {
    if (prefix < 96) return 'an IPv4-mapped network needs a prefix length of at least 96'
    prefix -= 96
  }
  if (address.v6) {
    const mask = prefix === 0 ? 0n : (ALL_128 >> BigInt(128 - prefix)) << BigInt(128 - prefix)
    if ((address.value & mask) !== address.value) return 'address has bits set beyond the prefix length'
    return { v6: true, block: { base: address.value, mask } }
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  if (((address.value & mask) >>> 0) !== address.value) return 'address has bits set beyond the prefix length'
  return { v6: false, block: { base: address.value, mask } }
}

/** A predicate over address strings; unparsable addresses are outside every network. */
export function compileNetworks (blocks: ParsedBlock[]): (ip: string) => boolean {
  const v4: V4Block[] = []
  const v6: V6Block[] = []
  for (const b of blocks) {
    if (b.v6) v6.push(b.block)
    else v4.push(b.block)
  }
  const inV6 = (value: bigint): boolean => {
    for (const b of v6) if ((value & b.mask) === b.base) return true
    return false
  }
  return (ip) => {
    const address = parseAddress(ip)
    if (address === null) return false
    if (address.v6) return inV6(address.value)
    for (const b of v4) if (((address.value & b.mask) >>> 0) === b.base) return true
    // an IPv6 block such as ::/0 also contains the IPv4-mapped form of the address
    return v6.length > 0 && inV6(MAPPED_PREFIX | BigInt(address.value))
  }
}
