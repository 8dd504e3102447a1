/// The clinic view's one page: HTML, CSS and JavaScript in one text, served at `/` from the
/// binary itself, so it works on the clinic LAN without any other server, CDN or build step.
/// It only reads `/events` (Server-Sent Events); it has no way to send a command.
///
/// Colours and flashing of the alarm banner follow IEC 60601-1-8's visual alarm signals:
/// high priority red, flashing at about 2 Hz; medium yellow, flashing at about 0.5 Hz; low
/// cyan, steady. An acknowledged alarm stays in its colour without flashing.
public enum ViewPage {
    public static let contentType = "text/html; charset=utf-8"

    public static let html = #"""
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Clinic view</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:13px/1.25 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:#101418;color:#e8eaed}
header{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:center;padding:6px 10px;background:#1c2228;border-bottom:1px solid #333}
header h1{font-size:15px;margin:0 8px 0 0;font-weight:600}
.pill{padding:2px 8px;border-radius:10px;background:#2b333b;white-space:nowrap}
.pill.ok{background:#1d3b26;color:#b9f0c6}.pill.bad{background:#7a1010;color:#fff;font-weight:600}
.pill.warn{background:#5a4a00;color:#fff3b0}
#conn.bad{animation:f2 2s steps(1) infinite}
header.dead .pill:not(#conn){background:#2b333b;color:#8a949e;text-decoration:line-through}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(226px,1fr));gap:6px;padding:6px}
.tile{background:#1a1f24;border:1px solid #2e363e;border-radius:6px;padding:4px 6px 5px;position:relative;min-width:0}
.th{display:flex;align-items:baseline;gap:6px;justify-content:space-between}
.bed{font-weight:700;font-size:15px;white-space:nowrap;flex-shrink:0}
.devs{display:flex;gap:3px;flex-wrap:wrap;justify-content:flex-end}
.dev{font-size:10px;padding:0 4px;border-radius:3px;background:#24402d;color:#bfe9c9}
.dev.lost{background:#5b5f66;color:#fff;font-weight:700}
.ban{margin:3px 0;padding:2px 5px;border-radius:3px;font-weight:700;min-height:20px;font-size:12px;color:#8a949e;background:#20262c}
.ban.high{background:#d40000;color:#fff;animation:f2 .5s steps(1) infinite}
.ban.medium{background:#ffd400;color:#000;animation:f2 2s steps(1) infinite}
.ban.low{background:#00c8e6;color:#000}
.ban.ack{animation:none}
@keyframes f2{50%{opacity:.35}}
.row{display:grid;grid-template-columns:40px minmax(0,1fr) 58px;align-items:center;gap:0 4px;height:25px}
.lab{color:#9aa6b2;font-size:11px}
.val{font-size:20px;font-weight:650;font-variant-numeric:tabular-nums;white-space:nowrap;overflow:hidden}
.val.warn{color:#ff6b6b}
.val.nibp{font-size:15px}.val.nibp small{display:none}
.val small{font-size:10px;font-weight:400;color:#9aa6b2;margin-left:2px}
.val.q{font-size:11px;font-weight:700;color:#000;background:repeating-linear-gradient(45deg,#b8bec4 0 6px,#d8dce0 6px 12px);padding:1px 4px;border-radius:3px}
.val.q.soff{background:repeating-linear-gradient(45deg,#e3b0ff 0 6px,#f0d8ff 6px 12px)}
canvas{width:100%;height:20px;display:block;background:#1f262d;border-radius:2px}
.sub{font-size:10px;color:#9aa6b2;white-space:nowrap;overflow:hidden}
.tile.stale .row,.tile.stale .th .devs{opacity:.25;filter:grayscale(1)}
.tile.stale::after{content:attr(data-stale);position:absolute;left:6px;right:6px;top:52%;text-align:center;font-weight:800;font-size:18px;background:#5b5f66;color:#fff;border-radius:4px;padding:4px}
.tile.stale .ban{animation:none}
#foot{padding:4px 10px;color:#7d8790;font-size:11px}
@media (max-width:520px){#grid{grid-template-columns:1fr 1fr;gap:4px;padding:4px}.tile{padding:3px 4px}.row{grid-template-columns:32px minmax(0,1fr) 34px;height:23px}.val{font-size:16px}.val.nibp{font-size:13px}.bed{font-size:13px}.dev{font-size:9px}}
</style></head>
<body>
<header><h1 id="title">Clinic view</h1><span id="conn" class="pill">connecting…</span><span id="broker" class="pill">broker ?</span><span id="clock" class="pill">clock ?</span><span id="queue" class="pill">queue ?</span><span id="audio" class="pill" hidden></span><span id="now" class="pill"></span></header>
<main id="grid"></main>
<div id="foot">Read-only view of this box. Values marked COMM LOSS or SENSOR OFF are not measurements. A tile that hears nothing for three cycles shows STALE.</div>
<script>
"use strict";
const LAB={spo2:"SpO2",pulse_rate:"PR",heart_rate:"HR",respiratory_rate:"RR",etco2:"EtCO2",rate:"Pump",dose_rate:"Dose"};
const ORDER=["spo2","pulse_rate","heart_rate","nibp","respiratory_rate","etco2","rate"];
const UNIT={"{beat}/min":"/min","{breath}/min":"/min","mm[Hg]":"mmHg","%":"%"};
const PSTATE=["stopped","running","paused"];
const AK={spo2:["spo2"],pulse_rate:["pr-","pulse"],heart_rate:["hr-"],nibp:["nibp"],respiratory_rate:["rr-","apnea"],etco2:["etco2"],rate:["pump"]};
let S={beds:{},order:[],cycle:1000,bsec:10,n:180},lastEvent=0;
const $=id=>document.getElementById(id);
function mk(t,c,x){const e=document.createElement(t);if(c)e.className=c;if(x!=null)e.textContent=x;return e}
function hhmmss(iso){const d=new Date(iso);return isNaN(d)?"?":d.toLocaleTimeString([], {hour:"2-digit",minute:"2-digit",second:"2-digit",hour12:false})}
function unit(u){return UNIT[u]!=null?UNIT[u]:(u||"")}
function bed(id){let b=S.beds[id];if(!b){b=S.beds[id]={id,pts:{},rows:{},devs:{},seen:0,alarms:null,el:null};}return b}
function hello(h){S.cycle=h.cycle_ms||1000;S.bsec=h.trend_bucket_s||10;S.n=h.trend_buckets||180;S.order=h.beds;S.beds={};
 $("title").textContent="Clinic view · "+h.site+" / "+h.box+(h.user?" · "+h.user:"");
 const g=$("grid");g.textContent="";
 for(const id of h.beds){const b=bed(id);const t=mk("section","tile stale");t.dataset.stale="WAITING FOR DATA";t.id="bed-"+id;
  const th=mk("div","th");th.append(mk("span","bed",id));b.devEl=mk("span","devs");th.append(b.devEl);t.append(th);
  b.ban=mk("div","ban","no alarm");t.append(b.ban);b.body=mk("div","body");t.append(b.body);b.el=t;g.append(t);}
}
function describe(d){const b=bed(d.bed);b.pts={};for(const p of d.points)b.pts[p.name]=p;
 const byPoint={};for(const p of d.points)if(byPoint[p.point]==null)byPoint[p.point]=p.name;b.byPoint=byPoint;
 b.body.textContent="";b.rows={};b.devEl.textContent="";const devs=[];
 for(const p of d.points)if(!devs.includes(p.device))devs.push(p.device);
 for(const dv of devs){const c=mk("span","dev",dv);c.title="answering";b.devEl.append(c);b.devs[dv]=c;}
 for(const k of ORDER){let names;if(k==="nibp"){if(byPoint.nibp_systolic==null)continue;names=[byPoint.nibp_systolic,byPoint.nibp_diastolic,byPoint.nibp_mean]}else{if(byPoint[k]==null)continue;names=[byPoint[k]]}
  const r=mk("div","row");r.dataset.k=k;const lab=mk("span","lab",k==="nibp"?"NIBP":LAB[k]);const v=mk("span","val","–");const cv=mk("canvas");cv.width=116;cv.height=40;r.append(lab,v,cv);b.body.append(r);
  const tn=k==="nibp"?names[2]:names[0];b.rows[k]={names,v,cv,tn};
  if(k==="rate"){const s=mk("div","sub");b.body.append(s);b.rows[k].sub=s;}}
 b.tr=b.tr||{};
}
function tr(b,name){let t=b.tr[name];if(!t){t=b.tr[name]={start:0,m:new Array(S.n).fill(null),sum:0,cnt:0,cur:-1}}return t}
function addTrend(b,name,v,ms){const t=tr(b,name);const k=Math.floor(ms/1000/S.bsec);
 if(t.cur<0)t.cur=k;if(k>t.cur){const sh=Math.min(S.n,k-t.cur);for(let i=0;i<sh;i++){t.m.shift();t.m.push(null)}t.cur=k;t.sum=0;t.cnt=0}
 if(k<t.cur-S.n+1)return;if(k===t.cur){t.sum+=v;t.cnt++;t.m[S.n-1]=t.sum/t.cnt}}
function trend(d){const b=bed(d.bed);b.tr={};const end=Math.floor(new Date(d.end).getTime()/1000/d.bucket_s);
 for(const name in d.series){const t=tr(b,name);t.m=d.series[name].slice(-S.n);while(t.m.length<S.n)t.m.unshift(null);t.cur=end;const last=t.m[S.n-1];t.sum=last==null?0:last;t.cnt=last==null?0:1}}
function draw(cv,t,warn){const c=cv.getContext("2d");const W=cv.width,H=cv.height;c.clearRect(0,0,W,H);if(!t)return;
 let lo=1e9,hi=-1e9;for(const v of t.m)if(v!=null){if(v<lo)lo=v;if(v>hi)hi=v}if(lo>hi)return;if(hi-lo<2){const m=(hi+lo)/2;lo=m-1;hi=m+1}
 c.strokeStyle=warn?"#ff6b6b":"#58b4ff";c.lineWidth=2;c.beginPath();let pen=false;const n=t.m.length;
 for(let i=0;i<n;i++){const v=t.m[i];if(v==null){pen=false;continue}const x=i*(W-1)/(n-1),y=H-2-(v-lo)*(H-4)/(hi-lo);if(pen)c.lineTo(x,y);else{c.moveTo(x,y);pen=true}}c.stroke()}
function fmt(e,p){if(!e||e.value==null)return null;const d=p&&p.decimals!=null?p.decimals:0;return Number(e.value).toFixed(d)}
function qual(v,q){v.className="val q"+(q==="sensor-off"?" soff":"");v.textContent=q==="comm-loss"?"COMM LOSS":q==="sensor-off"?"SENSOR OFF":q==="out-of-range"?"OUT OF RANGE":q==="stale"?"STALE VALUE":q.toUpperCase()}
function vitals(m){const b=bed(m.bed);const ms=new Date(m.time).getTime();const by={};for(const e of m.vitals)by[e.name]=e;
 b.seen=performance.now();b.sent=m.time;
 for(const e of m.vitals)if(e.quality==="ok"&&e.value!=null)addTrend(b,e.name,e.value,ms);
 for(const k in b.rows){const r=b.rows[k];const es=r.names.map(n=>by[n]);const e=es[0];if(!e)continue;const p=b.pts[r.names[0]];
  const bad=es.find(x=>x&&x.quality!=="ok");const warn=!!(b.alarms&&b.alarms.some(a=>(AK[k]||[]).some(p=>a.condition.startsWith(p))));
  if(bad){qual(r.v,bad.quality)}else{r.v.className="val"+(warn?" warn":"")+(k==="nibp"?" nibp":"");
   let txt=k==="nibp"?fmt(es[0],b.pts[r.names[0]])+"/"+fmt(es[1],b.pts[r.names[1]])+(es[2]?" ("+fmt(es[2],b.pts[r.names[2]])+")":""):fmt(e,p);
   r.v.textContent=txt;r.v.append(mk("small",null,unit(p.unit)));r.v.title=k==="nibp"?"systolic/diastolic (mean), "+unit(p.unit):""}
  if(r.sub){const vol=b.byPoint.volume_infused!=null?by[b.byPoint.volume_infused]:null;const st=b.byPoint.state!=null?by[b.byPoint.state]:null;
   r.sub.textContent=(vol&&vol.quality==="ok"?"infused "+fmt(vol,b.pts[b.byPoint.volume_infused])+" mL":"")+(st?" · "+(st.quality==="ok"?(PSTATE[st.value]||st.value):st.quality.toUpperCase()):"")}
  draw(r.cv,b.tr[r.tn],warn)}
 stale();}
const PR={high:3,medium:2,low:1};
const WORD={spo2:"SpO2",hr:"HR",pr:"PR",rr:"RR",etco2:"EtCO2",nibp:"NIBP",sys:"systolic",dia:"diastolic"};
function said(c){for(const [p,t] of [["comm-loss-","Comm loss: "],["sensor-off-","Sensor off: "],["out-of-range-","Out of range: "],["agent-","Box: "]])
 if(c.startsWith(p))return t+(p==="agent-"?c.slice(p.length).replace(/-/g," "):c.slice(p.length));
 return c.split("-").map(w=>WORD[w]||w).join(" ")}
function alarmState(s){const b=bed(s.bed);b.alarms=s.active;S.audio=s.audio_paused_until;
 const a=[...s.active].sort((x,y)=>(PR[y.priority]||0)-(PR[x.priority]||0));const top=a[0];
 if(!top){b.ban.className="ban";b.ban.textContent="no alarm";}
 else{b.ban.className="ban "+top.priority+(top.acknowledged?" ack":"");
  b.ban.textContent=top.priority.toUpperCase()+" "+said(top.condition)+" since "+hhmmss(top.since)+(top.acknowledged?" · ACK":"")+(a.length>1?" +"+(a.length-1)+" more":"");
  b.ban.title=a.map(x=>x.priority+" "+said(x.condition)+(x.acknowledged?" (acknowledged)":"")).join("\n");}
 const au=$("audio");if(s.audio_paused_until){au.hidden=false;au.className="pill warn";au.textContent="Audio paused until "+hhmmss(s.audio_paused_until)}else{au.hidden=true}}
function deviceState(d){const b=bed(d.bed);const c=b.devs[d.device];if(!c)return;const lost=d.state!=="answering";c.className="dev"+(lost?" lost":"");c.textContent=d.device+(lost?" COMM LOSS":"");c.title=d.state+(d.reason?" ("+d.reason+")":"")}
function pill(id,ok,txt,title){const p=$(id);p.className="pill "+(ok?"ok":"bad");p.textContent=txt;p.title=title||""}
function health(h){const ck={};for(const c of h.checks||[])ck[c.name]=c;
 if(ck.broker)pill("broker",ck.broker.ok,ck.broker.ok?"Broker connected":"BROKER DISCONNECTED",ck.broker.detail);
 if(ck.clock)pill("clock",ck.clock.ok,ck.clock.ok?"Clock synchronised":"CLOCK NOT SYNCHRONISED",ck.clock.detail);
 if(h.queue)pill("queue",h.queue.pending<1000,"Queue "+h.queue.pending+" pending",ck.queue?ck.queue.detail:"")}
function stale(){const now=performance.now(),lim=Math.max(3000,3*S.cycle);
 for(const id of S.order){const b=S.beds[id];if(!b||!b.el)continue;const age=b.seen?now-b.seen:Infinity;const st=age>lim;
  if(st){b.el.classList.add("stale");b.el.dataset.stale=b.seen?"STALE · no data for "+Math.round(age/1000)+" s":"WAITING FOR DATA"}else b.el.classList.remove("stale")}
 const c=$("conn");const live=now-lastEvent<lim&&es&&es.readyState===1;c.className="pill "+(live?"ok":"bad");document.querySelector("header").classList.toggle("dead",!live);c.textContent=live?"Live":"NO CONNECTION – reconnecting";
 $("now").textContent=new Date().toLocaleTimeString([], {hour12:false})}
let es=null;
function on(n,f){es.addEventListener(n,e=>{lastEvent=performance.now();try{f(JSON.parse(e.data))}catch(x){console.error(n,x)}})}
function connect(){es=new EventSource("events");on("hello",hello);on("description",describe);on("trend",trend);on("vitals",vitals);on("alarm-state",alarmState);on("device-state",deviceState);on("health",health);es.onerror=()=>stale()}
connect();setInterval(stale,500);
</script></body></html>
"""#
}
