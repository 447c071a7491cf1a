import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { AppError } from '@eucp/core';
import { delay } from './process-info.js';
import { MAX_UNIX_NAME_LENGTH, passwdLock } from './unix-accounts.js';

const execFileAsync = promisify(execFile);

/**
 * The Unix group of a hub group's workspace: `<prefix>ws.<group>`. The dot cannot occur
 * in hub user names, so it never equals an account's own group (`<prefix><user>`). Too
 * long a name keeps the start of the group name and adds 8 hex digits of its hash.
 */
export function workspaceGroupName(prefix: string, group: string): string {
  const full = `${prefix}ws.${group}`;
  if (full.length <= MAX_UNIX_NAME_LENGTH) return full;
  const hash = createHash('sha256').update(group).digest('hex').slice(0, 8);
  const keep = MAX_UNIX_NAME_LENGTH - prefix.length - 'ws.'.length - 1 - hash.length;
  return `${prefix}ws.${group.slice(0, Math.max(0, keep))}.${hash}`;
}

/** Prefix of every workspace group name of accounts with `prefix`. */
export const workspaceGroupPrefix = (prefix: string): string => `${prefix}ws.`;

interface GroupEntry { name: string; gid: number; members: string[] }

async function readGroups(): Promise<GroupEntry[]> {
  const text = await readFile('/etc/group', 'utf8');
  return text.split('\n').filter(Boolean).map((line) => {
    const [name = '', , gid = '', members = ''] = line.split(':');
    return { name, gid: Number(gid), members: members.split(',').filter(Boolean) };
  });
}

/** Runs a shadow-utils command under the passwd lock, retrying while another process holds /etc/group's lock. */
async function shadowTool(file: string, args: string[], okCodes: readonly number[] = []): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await passwdLock.run('useradd', () => execFileAsync(file, args));
      return;
    } catch (err) {
      const e = err as { code?: unknown; stderr?: string };
      if (typeof e.code === 'number' && okCodes.includes(e.code)) return;
      if (attempt < 10 && /lock|try again/i.test(e.stderr ?? '')) {
        await delay(100 * attempt);
        continue;
      }
      throw new AppError('SPAWN_FAILED', `${file} ${args.join(' ')} failed: ${e.stderr?.trim() || String(err)}`, {}, { cause: err });
    }
  }
}

/** Makes sure the Unix group `name` exists (`groupadd`); resolves its gid. */
export async function ensureUnixGroup(name: string): Promise<number> {
  let entry = (await readGroups()).find((g) => g.name === name);
  if (!entry) {
    // Exit 9: the name exists (created meanwhile).
    await shadowTool('/usr/sbin/groupadd', [name], [9]);
    entry = (await readGroups()).find((g) => g.name === name);
  }
  if (!entry || !Number.isInteger(entry.gid) || entry.gid === 0) {
    throw new AppError('SPAWN_FAILED', `The Unix group ${name} cannot be created or looked up in /etc/group.`);
  }
  return entry.gid;
}

/**
 * Makes `account` a member of exactly the workspace groups `wanted` among the groups
 * named `<prefix>ws.…` (other supplementary groups are left alone): a user removed from
 * a hub group loses its workspace group at the next start of their server.
 */
export async function syncWorkspaceMemberships(account: string, prefix: string, wanted: readonly string[]): Promise<void> {
  const want = new Set(wanted);
  const wsPrefix = workspaceGroupPrefix(prefix);
  for (const g of await readGroups()) {
    if (!g.name.startsWith(wsPrefix)) continue;
    const member = g.members.includes(account);
    if (want.has(g.name) && !member) await shadowTool('/usr/bin/gpasswd', ['-a', account, g.name]);
    if (!want.has(g.name) && member) await shadowTool('/usr/bin/gpasswd', ['-d', account, g.name]);
  }
}

// POSIX ACL xattr (linux/posix_acl_xattr.h): version 2, then {u16 tag, u16 perm, u32 id} entries.
const ACL_USER_OBJ = 0x01;
const ACL_GROUP_OBJ = 0x04;
const ACL_OTHER = 0x20;
const ACL_UNDEFINED_ID = 0xffffffff;

/** `system.posix_acl_default` value of `u::rwx,g::rwx,o::---`: new files in the workspace are writable by the whole group. */
export function groupWritableDefaultAcl(): Buffer {
  const entries: Array<[number, number]> = [[ACL_USER_OBJ, 7], [ACL_GROUP_OBJ, 7], [ACL_OTHER, 0]];
  const buf = Buffer.alloc(4 + entries.length * 8);
  buf.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm], i) => {
    buf.writeUInt16LE(tag, 4 + i * 8);
    buf.writeUInt16LE(perm, 6 + i * 8);
    buf.writeUInt32LE(ACL_UNDEFINED_ID, 8 + i * 8);
  });
  return buf;
}

// Node has no setxattr; Python's os.setxattr is on every sandbox host (kernels need it).
const SET_XATTR = 'import os, sys; os.setxattr(sys.argv[1], "system.posix_acl_default", bytes.fromhex(sys.argv[2]))';

/**
 * Sets the group-writable default ACL on a workspace directory, so files one member
 * creates can be changed by the others whatever their umask. Throws if the filesystem
 * has no ACLs or python3 is missing (callers log it: members can then still add files).
 */
export async function setGroupWritableDefaultAcl(dir: string, python = '/usr/bin/python3'): Promise<void> {
  await execFileAsync(python, ['-c', SET_XATTR, dir, groupWritableDefaultAcl().toString('hex')]);
}
