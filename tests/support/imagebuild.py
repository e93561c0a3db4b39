"""Build container image tarballs without Docker, reproducibly (fixed mtimes, owners, order).

- ``docker_archive``: the ``docker save`` layout trivy reads with ``image --input X.tar``:
  ``manifest.json``, ``<sha256>.json`` (image config with ``rootfs.diff_ids``), and
  ``<sha256>/layer.tar`` per layer (uncompressed, so the layer digest *is* its DiffID).
- ``oci_layout``: an OCI image layout *directory* (``oci-layout``, ``index.json``,
  ``blobs/sha256/``); trivy accepts it with ``--input DIR`` but not as a tarball.

A layer is a mapping ``{"path/in/image": bytes | str}``; parents directories are added.
Helpers write the files trivy's analyzers read: ``debian_base`` / ``alpine_base``
(os-release + package DB) and ``python_dist`` (``site-packages/<name>-<ver>.dist-info/METADATA``).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

Layer = Mapping[str, bytes | str]
EPOCH = 1_700_000_000  # fixed mtime: same input -> byte-identical tarball
CREATED = "2023-11-14T22:13:20Z"
SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"


@dataclass(frozen=True)
class Image:
    path: Path
    diff_ids: tuple[str, ...]  # "sha256:..." per layer, bottom first (trivy's Layer.DiffID)
    config_digest: str  # "sha256:..." (the image ID)
    tag: str


def _data(v: bytes | str) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else v


def _info(name: str, *, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = EPOCH, 0, 0, "root", "root"
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size, info.mode = size, 0o644
    return info


def layer_tar(files: Layer) -> bytes:
    """An uncompressed layer tarball (with parent directories), entries sorted."""
    dirs: set[str] = set()
    for name in files:
        p = PurePosixPath(name.lstrip("/"))
        dirs.update(str(parent) + "/" for parent in p.parents if str(parent) != ".")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(dirs):
            tar.addfile(_info(d, directory=True))
        for name in sorted(files):
            data = _data(files[name])
            tar.addfile(_info(name.lstrip("/"), size=len(data)), io.BytesIO(data))
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _config(diff_ids: list[str], history: Sequence[str]) -> bytes:
    cfg = {
        "architecture": "amd64", "os": "linux", "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": h} for h in history],
    }
    return json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, size=len(data)), io.BytesIO(data))


def docker_archive(out: Path, layers: Sequence[Layer], *, tag: str = "posture-gate/test:latest",
                   history: Sequence[str] | None = None) -> Image:
    """Write a ``docker save``-style tarball; returns its layer DiffIDs."""
    tars = [layer_tar(layer) for layer in layers]
    diff_ids = [f"sha256:{_sha(t)}" for t in tars]
    hist = list(history or [f"layer {n + 1}" for n in range(len(tars))])
    config = _config(diff_ids, hist)
    config_name = f"{_sha(config)}.json"
    layer_names = [f"{_sha(t)}/layer.tar" for t in tars]
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, config_name, config)
        for name, data in zip(layer_names, tars, strict=True):
            tar.addfile(_info(name.split("/")[0] + "/", directory=True))
            _add(tar, name, data)
        _add(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
    return Image(path=out, diff_ids=tuple(diff_ids), config_digest=f"sha256:{_sha(config)}",
                 tag=tag)


def oci_layout(out_dir: Path, layers: Sequence[Layer], *, tag: str = "latest",
               history: Sequence[str] | None = None) -> Image:
    """Write an OCI image layout directory (uncompressed layers)."""
    blobs = out_dir / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> str:
        digest = _sha(data)
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    tars = [layer_tar(layer) for layer in layers]
    diff_ids = [blob(t) for t in tars]
    config = _config(diff_ids, list(history or [f"layer {n + 1}" for n in range(len(tars))]))
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": blob(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d,
                    "size": len(t)} for d, t in zip(diff_ids, tars, strict=True)],
    }
    mdata = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": manifest["mediaType"], "digest": blob(mdata),
                            "size": len(mdata),
                            "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (out_dir / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (out_dir / "index.json").write_text(json.dumps(index, sort_keys=True))
    return Image(path=out_dir, diff_ids=tuple(diff_ids),
                 config_digest=f"sha256:{_sha(config)}", tag=tag)


# ------------------------------------------------------------------ layer contents


@dataclass(frozen=True)
class Pkg:
    """An installed OS package. ``source`` = dpkg Source: / apk origin (defaults to name)."""

    name: str
    version: str
    source: str | None = None
    arch: str = "amd64"


def debian_os_release(version: str = "12") -> str:
    major = version.split(".")[0]
    names = {"11": "bullseye", "12": "bookworm", "13": "trixie"}
    code = names.get(major, "unknown")
    return (f'PRETTY_NAME="Debian GNU/Linux {major} ({code})"\nNAME="Debian GNU/Linux"\n'
            f'VERSION_ID="{major}"\nVERSION="{major} ({code})"\nVERSION_CODENAME={code}\n'
            'ID=debian\nHOME_URL="https://www.debian.org/"\n'
            'SUPPORT_URL="https://www.debian.org/support"\n'
            'BUG_REPORT_URL="https://bugs.debian.org/"\n')


def dpkg_status(packages: Sequence[Pkg]) -> str:
    paras = []
    for p in packages:
        lines = [f"Package: {p.name}", "Status: install ok installed", "Priority: optional",
                 "Section: libs", "Installed-Size: 100",
                 "Maintainer: Example Maintainers <maint@example.invalid>",
                 f"Architecture: {p.arch}"]
        if p.source and p.source != p.name:
            lines.append(f"Source: {p.source}")
        lines += [f"Version: {p.version}", f"Description: {p.name} (test fixture)",
                  " Planted by posture-gate's hermetic image builder."]
        paras.append("\n".join(lines) + "\n")
    return "\n".join(paras)


def debian_base(version: str, packages: Sequence[Pkg]) -> dict[str, str]:
    """/etc/os-release, /etc/debian_version and /var/lib/dpkg/status."""
    return {"etc/os-release": debian_os_release(version), "etc/debian_version": f"{version}\n",
            "var/lib/dpkg/status": dpkg_status(packages)}


def apk_installed(packages: Sequence[Pkg]) -> str:
    paras = []
    for p in packages:
        arch = "x86_64" if p.arch == "amd64" else p.arch
        paras.append(f"P:{p.name}\nV:{p.version}\nA:{arch}\nS:100\nI:100\n"
                     f"T:{p.name} (test fixture)\nU:https://example.invalid/\nL:MIT\n"
                     f"o:{p.source or p.name}\nm:Example <maint@example.invalid>\n"
                     f"t:{EPOCH}\n")
    return "\n".join(paras) + "\n"


def alpine_base(version: str, packages: Sequence[Pkg]) -> dict[str, str]:
    """/etc/os-release, /etc/alpine-release and /lib/apk/db/installed."""
    minor = ".".join(version.split(".")[:2])
    return {"etc/alpine-release": f"{version}\n",
            "etc/os-release": ('NAME="Alpine Linux"\nID=alpine\n'
                               f'VERSION_ID={version}\n'
                               f'PRETTY_NAME="Alpine Linux v{minor}"\n'
                               'HOME_URL="https://alpinelinux.org/"\n'),
            "lib/apk/db/installed": apk_installed(packages)}


def dist_info_metadata(name: str, version: str, summary: str = "") -> str:
    return (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: {summary or name + ' (test fixture)'}\nLicense: Apache-2.0\n")


def python_dist(name: str, version: str, *, site: str = SITE_PACKAGES,
                metadata: str | None = None) -> dict[str, str]:
    """An installed distribution: ``<site>/<name>-<version>.dist-info/METADATA``."""
    folder = f"{name.replace('-', '_')}-{version}.dist-info"
    return {f"{site}/{folder}/METADATA": metadata or dist_info_metadata(name, version)}


def tree_layer(root: Path) -> dict[str, bytes]:
    """A layer holding every file below ``root`` (paths relative to it)."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
