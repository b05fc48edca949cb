/**
 * An image sent from one store to another as its blobs (images/image-transfer.ts): what the base
 * lacks is named, the receiver gets the same image (same digest, same tree), a blob that does not
 * hash to its digest is refused and nothing is tagged, and a base the receiver lacks fails clearly.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ImageStoreError, SnapshotStore } from '../../images/image-store.js';
import { admitImageBlobs, imageBlobsOf } from '../../images/image-transfer.js';
import { buildLayerOnImage, buildStreamedLayerImage } from '../../images/store/image-builder.js';
import { treeListing } from '../helpers/registry.js';
import { makeTempDir, removeTempDir } from '../helpers/tmp.js';

const needsRoot = process.getuid?.() !== 0 ? 'needs root (ownership of unpacked files)' : false;
const T = new Date('2024-04-04T04:04:04Z');

describe('image transfer between stores', { skip: needsRoot }, () => {
  let tmp: string | undefined;
  let sender: SnapshotStore;

  async function store(name: string): Promise<SnapshotStore> {
    const s = new SnapshotStore(join(tmp!, name));
    await s.init();
    return s;
  }

  before(async () => {
    tmp = await makeTempDir('transfer');
    const base = join(tmp, 'base-tree');
    const upper = join(tmp, 'upper');
    await mkdir(join(base, 'etc'), { recursive: true });
    await writeFile(join(base, 'etc', 'base'), 'base\n');
    await mkdir(upper);
    await writeFile(join(upper, 'built'), 'built\n');
    sender = await store('sender');
    await buildStreamedLayerImage(sender, { reference: 'base:1', rootfs: base, created: T, config: {}, createdBy: 'test' });
    const baseImage = (await sender.resolve('base:1'))!;
    await buildLayerOnImage(sender, { reference: 'built:1', baseDigest: baseImage.digest, upperDir: upper, opaqueDirs: new Set(), created: T, config: {}, createdBy: 'test' });
  });
  after(() => removeTempDir(tmp));

  const fetchFrom = (s: SnapshotStore) => async (digest: string): Promise<Readable> => s.openBlob(digest);

  it('names the blobs the base lacks, and the receiver with the base gets the same image', async () => {
    const base = (await sender.resolve('base:1'))!;
    const built = (await sender.resolve('built:1'))!;
    const { manifest, blobs } = await imageBlobsOf(sender, built, base);
    assert.equal(manifest, built.digest);
    assert.equal(blobs.length, 2, 'the config and the one layer the build added');
    const receiver = await store('receiver');
    await admitImageBlobs(receiver, 'base:1', base.digest, fetchFrom(sender));
    const asked: string[] = [];
    const got = await admitImageBlobs(receiver, 'built:1', manifest, async (d) => (asked.push(d), sender.openBlob(d)));
    assert.equal(got.digest, built.digest);
    assert.deepEqual(asked.sort(), [manifest, ...blobs].sort(), 'only what the base lacks was fetched');
    assert.deepEqual(await treeListing(got.layerDirs.at(-1)!), await treeListing(built.layerDirs.at(-1)!));
  });

  it('refuses bytes that do not hash to the digest, and tags nothing', async () => {
    const built = (await sender.resolve('built:1'))!;
    const receiver = await store('tampered');
    await assert.rejects(admitImageBlobs(receiver, 'built:1', built.digest, async () => Readable.from([Buffer.from('not the blob')])), (err: unknown) => {
      assert.ok(err instanceof ImageStoreError && err.code === 'digest_mismatch', String(err));
      return true;
    });
    assert.deepEqual(await receiver.list(), []);
  });

  it('fails clearly when the receiver lacks the base and the sender did not hand it on', async () => {
    const built = (await sender.resolve('built:1'))!;
    const { manifest, blobs } = await imageBlobsOf(sender, built, (await sender.resolve('base:1'))!);
    const handedOn = new Set([manifest, ...blobs]);
    const receiver = await store('no-base');
    await assert.rejects(
      admitImageBlobs(receiver, 'built:1', manifest, async (d) => {
        if (!handedOn.has(d)) throw new ImageStoreError('blob_not_found', `blob ${d} was not handed on`);
        return sender.openBlob(d);
      }),
      /was not handed on/,
    );
    assert.deepEqual(await receiver.list(), []);
  });
});
