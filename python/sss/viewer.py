"""``sss view``: look at a result in the browser, toggle and merge layers.

A local web page (Python's standard-library HTTP server, bound to 127.0.0.1;
nothing is fetched from the internet) shows the photo, the colour-coded
overview and every soft layer. Layers can be switched on and off (the view
composites the visible ones over a checkerboard), two or more can be merged
into one, and the shown composite or the merged layer can be downloaded as a
PNG. It reads what ``sss segment`` or ``SoftSegments.save`` wrote: a folder with
one ``NAME_alphas.npz`` (and its PNGs) or the npz itself.
"""

from __future__ import annotations

import html
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

__all__ = ["make_server", "serve"]

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>sss view: %(name)s</title>
<style>
body{font-family:sans-serif;margin:12px;background:#f4f4f4}
#top{display:flex;gap:12px;flex-wrap:wrap}
figure{margin:0}figcaption{font-size:13px}
canvas,img.thumb{border:1px solid #999;max-width:420px}
.checker{background:repeating-conic-gradient(#ccc 0 25%%,#fff 0 50%%) 0 0/16px 16px}
#layers{display:flex;gap:8px;flex-wrap:wrap;margin-top:10px}
.layer{background:#fff;padding:6px;border:1px solid #bbb;font-size:13px}
.layer img{width:160px;display:block}
button{margin:4px 4px 0 0}
</style></head><body>
<h3>%(name)s &mdash; %(width)d x %(height)d, <span id="count"></span> layers</h3>
<div id="top">
<figure><img class="thumb" src="photo.png" alt="photo"><figcaption>photo</figcaption></figure>
<figure><img class="thumb" src="overview.png" alt="overview"><figcaption>overview</figcaption></figure>
<figure><canvas id="view" class="checker" width="%(width)d" height="%(height)d"></canvas>
<figcaption>visible layers <button id="dl">download view</button>
<button id="merge">merge checked</button><button id="dlm">download merged</button>
</figcaption></figure>
</div>
<div id="layers"></div>
<script>
const W=%(width)d,H=%(height)d;
let layers=[];  // {name, img, data(ImageData), on, sel}
let merged=null;
function imgData(img){const c=document.createElement('canvas');c.width=W;c.height=H;
 const g=c.getContext('2d');g.drawImage(img,0,0);return g.getImageData(0,0,W,H);}
function sum(list){  // layers are additive: colour x alpha adds up to the photo
 const out=new ImageData(W,H);const o=out.data;
 for(const L of list){const d=L.data.data;
  for(let i=0;i<d.length;i+=4){const a=d[i+3]/255;
   o[i]+=d[i]*a;o[i+1]+=d[i+1]*a;o[i+2]+=d[i+2]*a;o[i+3]+=d[i+3];}}
 for(let i=0;i<o.length;i+=4){const a=Math.min(o[i+3],255)/255;
  if(a>0){o[i]/=a;o[i+1]/=a;o[i+2]/=a;}o[i+3]=Math.min(o[i+3],255);}
 return out;}
function redraw(){const c=document.getElementById('view');
 c.getContext('2d').putImageData(sum(layers.filter(l=>l.on)),0,0);
 document.getElementById('count').textContent=layers.length;}
function card(L,i){const d=document.createElement('div');d.className='layer';
 d.innerHTML='<img class="checker" src="'+L.src+'"><label><input type="checkbox" checked class="on"> show</label> '+
  '<label><input type="checkbox" class="sel"> merge</label><br>'+L.name;
 d.querySelector('.on').onchange=e=>{L.on=e.target.checked;redraw();};
 d.querySelector('.sel').onchange=e=>{L.sel=e.target.checked;};
 d.id='layer'+i;return d;}
function render(){const box=document.getElementById('layers');box.innerHTML='';
 layers.forEach((L,i)=>box.appendChild(card(L,i)));redraw();}
function toURL(data){const c=document.createElement('canvas');c.width=W;c.height=H;
 c.getContext('2d').putImageData(data,0,0);return c.toDataURL('image/png');}
function download(url,name){const a=document.createElement('a');a.href=url;a.download=name;a.click();}
document.getElementById('dl').onclick=()=>download(document.getElementById('view').toDataURL('image/png'),'view.png');
document.getElementById('merge').onclick=()=>{const sel=layers.filter(l=>l.sel);
 if(sel.length<2)return;merged=sum(sel);
 const keep=layers.filter(l=>!l.sel);const name=sel.map(l=>l.name).join(' + ');
 keep.push({name:name,src:toURL(merged),data:merged,on:true,sel:false});layers=keep;render();
 document.title='merged: '+name;};
document.getElementById('dlm').onclick=()=>{if(merged)download(toURL(merged),'merged_layer.png');};
fetch('layers.json').then(r=>r.json()).then(list=>Promise.all(list.map(L=>new Promise(ok=>{
 const img=new Image();img.onload=()=>ok({name:L.name,src:L.src,data:imgData(img),on:true,sel:false});
 img.src=L.src;})))).then(ls=>{layers=ls;render();
 const m=new URLSearchParams(location.search).get('merge');  // e.g. ?merge=0,2
 if(m){m.split(',').map(Number).forEach(i=>{if(layers[i])layers[i].sel=true;});
  document.getElementById('merge').click();}
 document.body.dataset.ready='1';});
</script></body></html>
"""


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _content(path) -> dict[str, bytes]:
    """Every file the page needs, rendered from the saved result."""
    from .export import overview
    from .pipeline import load
    seg = load(path)
    if seg.image is None:
        raise ValueError(f"{path}: this result has no photo stored (written by an older sss); "
                         "segment the photo again")
    h, w = seg.alphas.shape[:2]
    a = seg.alphas.astype(np.float64)
    files = {"photo.png": _png(np.round(np.clip(seg.image, 0, 1) * 255).astype(np.uint8)),
             "overview.png": _png(overview(seg.image, a, seg.colors, max_side=max(h, w)))}
    names = []
    for i in range(a.shape[2]):
        rgba = np.round(np.clip(seg.layer(i), 0, 1) * 255).astype(np.uint8)
        files[f"layer{i}.png"] = _png(rgba)
        names.append({"name": f"layer {i}", "src": f"layer{i}.png"})
    files["layers.json"] = json.dumps(names).encode()
    p = Path(os.fspath(path))
    found = sorted(p.glob("*_alphas.npz")) if p.is_dir() else [p]
    stem = found[0].name.removesuffix("_alphas.npz") if found else p.name
    # the name comes from a file name, which may hold any characters: escaped
    files["index.html"] = (_PAGE % {"name": html.escape(stem), "width": w,
                                    "height": h}).encode()
    return files


def _local_host(host: str | None) -> bool:
    """Whether an HTTP Host header names this machine's loopback (any port)."""
    host = (host or "").strip().lower()
    name = host[:host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
    return name in ("127.0.0.1", "localhost", "[::1]")


def make_server(path, port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 (`port` 0: a free one) serving the viewer
    of the result at `path`; call ``serve_forever()`` on it, ``shutdown()`` to
    stop. Its address is ``server.server_address``."""
    files = _content(path)
    types = {".html": "text/html; charset=utf-8", ".png": "image/png",
             ".json": "application/json"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if not _local_host(self.headers.get("Host")):
                # a page elsewhere that resolves its own name to 127.0.0.1 (DNS
                # rebinding) would send its own host name: not served
                self.send_error(403, "the viewer answers requests to 127.0.0.1 or localhost")
                return
            key = self.path.split("?", 1)[0].lstrip("/") or "index.html"
            body = files.get(key)
            if body is None:
                self.send_error(404, "not found")
                return
            self.send_response(200)
            self.send_header("Content-Type", types.get(Path(key).suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet
            pass

    return ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)


def serve(path, port: int = 8765, open_browser: bool = True) -> None:
    """Serve the viewer until Ctrl-C (the ``sss view`` command)."""
    import sys
    server = make_server(path, port)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    sys.stderr.write(f"sss view: {url} (Ctrl-C to stop)\n")
    if open_browser:
        import webbrowser
        threading.Timer(0.5, lambda: webbrowser.open(url)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
