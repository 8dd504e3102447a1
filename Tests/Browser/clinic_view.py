#!/usr/bin/env python3
"""The clinic view in a real browser: Debian's chromium, headless, driven by Selenium through
Debian's chromium-driver, against a real agent, simulator and mosquitto started here.

  clinic_view.py --agent PATH --simulator PATH [--screenshots DIR]

Checks, as a nurse at the station would see them: a tile per chair; values that move;
chair-2's desaturation turning its banner red within 2 s of the alarm event on MQTT; an
unplugged monitor shown as comm-loss, never as a number; an acknowledge over MQTT changing
the banner; a wrong password getting 401. Screenshots at 1280x800 and 390x844 go to DIR.
Exits 1 on the first failed check, saying what was seen.
"""
import argparse, base64, signal, json, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request, urllib.error

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:
    sys.exit("clinic_view.py: selenium is missing: run Deploy/install-deps.sh (it installs it into /opt/bedside-gateway-test-venv)")

for tool in ("chromium", "chromedriver", "mosquitto", "mosquitto_sub", "mosquitto_pub", "openssl"):
    if shutil.which(tool) is None:
        sys.exit(f"clinic_view.py: {tool} is missing: run Deploy/install-deps.sh")

USER, PASSWORD = "nurse-station", "correct horse battery"
TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"
started = time.monotonic()


def say(text):
    print(f"clinic_view [{time.monotonic() - started:6.1f} s] {text}", flush=True)


def fail(text):
    say("FAIL: " + text)
    raise SystemExit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count):
    """The first of `count` consecutive loopback ports nobody listens on (the simulator's devices)."""
    import random
    for _ in range(100):
        first = random.randint(20000, 60000 - count)
        sockets = []
        try:
            for port in range(first, first + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    fail(f"no {count} free consecutive ports")


def wait_for(what, condition, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    fail(f"{what}: not within {timeout} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", required=True)
    parser.add_argument("--simulator", required=True)
    parser.add_argument("--screenshots", default="/tmp/view")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="clinic-view-")
    processes = []
    try:
        run(args, work, processes)
        stop(processes)
        thirty_two_chairs(args, work + "/32", processes)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
    say("passed")


def browser(work):
    """Debian's chromium, headless, through Debian's chromium-driver; a profile of its own."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={work}/chromium"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def write_config(work, box, broker, modbus, chairs, more):
    """The agent's configuration: `chairs` chairs, each a monitor (the simulator's first
    `chairs` ports from `modbus` on) and a pump (the next `chairs`), a buzzer recorded to a file."""
    beds = "".join(f"  - id: chair-{bed}\n    devices:\n"
                   f"      - {{ id: monitor-{bed}, profile: patient-monitor, tcp: {{ host: 127.0.0.1, port: {modbus + bed - 1} }} }}\n"
                   f"      - {{ id: pump-{bed}, profile: infusion-pump, tcp: {{ host: 127.0.0.1, port: {modbus + chairs + bed - 1} }} }}\n"
                   for bed in range(1, chairs + 1))
    with open(f"{work}/gateway.yaml", "w") as f:
        f.write(f"""site: browser-clinic
box: {box}
mqtt: {{ host: 127.0.0.1, port: {broker} }}
sampling: {{ interval_ms: 1000 }}
queue: {{ directory: {work}/queue }}
health: {{ port: 0, require_clock_sync: false }}
alarms: {{ log: {work}/alarms.log }}
hardware: {{ buzzer: {{ record_to: {work}/buzzer.edges }} }}
{more}
beds:
{beds}""")


def stop(processes):
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
            process.wait(10)
    processes.clear()


def thirty_two_chairs(args, work, processes):
    """32 chairs on a 1920x1080 screen: every tile shown whole without scrolling, with its values."""
    os.makedirs(work)
    broker, view = free_port(), free_port()
    modbus = free_ports(64)
    with open(f"{work}/mosquitto.conf", "w") as f:
        f.write(f"listener {broker} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    processes.append(subprocess.Popen(["mosquitto", "-c", f"{work}/mosquitto.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
    processes.append(subprocess.Popen([args.simulator, "--port", str(modbus), "--devices", "monitor:32,pump:32", "--seed", "11",
                                       "--scenario", "desaturation@5", "--scenario", "tachycardia@12",
                                       "--scenario", "unplugged@20", "--unplugged-after-s", "0", "--unplugged-s", "600"],
                                      stdout=open(f"{work}/simulator.log", "w"), stderr=subprocess.STDOUT))
    write_config(work, "edge-32", broker, modbus, 32, f"view: {{ port: {view} }}")
    processes.append(subprocess.Popen([args.agent, "run", "--config", f"{work}/gateway.yaml"],
                                      stdout=open(f"{work}/agent.log", "w"), stderr=subprocess.STDOUT))
    driver = browser(work)
    try:
        viewport(driver, 1920, 1080)
        base = f"http://127.0.0.1:{view}/"
        wait_for("the 32-chair view answering", lambda: _answers(base), 20)
        driver.get(base)
        wait_for("32 live tiles", lambda: js(driver, "return document.querySelectorAll('.tile:not(.stale)').length") == 32, 30)
        time.sleep(3)  # the alarms of the scenarios show
        cut = js(driver, """return [...document.querySelectorAll('.tile')].filter(t=>{const r=t.getBoundingClientRect();
                 return r.bottom>innerHeight||r.right>innerWidth}).map(t=>t.id)""")
        if cut:
            fail(f"at 1920x1080 these tiles do not fit on the screen: {cut}")
        smallest = js(driver, "return Math.min(...[...document.querySelectorAll('.val:not(.q)')].map(v=>parseFloat(getComputedStyle(v).fontSize)))")
        driver.save_screenshot(f"{args.screenshots}/view-1920x1080-32-chairs.png")
        say(f"32 chairs at 1920x1080: every tile whole on the screen, values at {smallest:.0f} px and more")
    finally:
        driver.quit()


def _answers(base):
    try:
        urllib.request.urlopen(base, timeout=2).close()
        return True
    except OSError:
        return False


def run(args, work, processes):
    broker, view, modbus = free_port(), free_port(), free_ports(4)
    with open(f"{work}/mosquitto.conf", "w") as f:
        f.write(f"listener {broker} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    processes.append(subprocess.Popen(["mosquitto", "-c", f"{work}/mosquitto.conf"], stdout=open(f"{work}/mosquitto.log", "w"),
                                      stderr=subprocess.STDOUT))
    # chair-1's monitor is unplugged 45 s in for 60 s; chair-2 desaturates 25 s in.
    processes.append(subprocess.Popen([args.simulator, "--port", str(modbus), "--devices", "monitor:2,pump:2", "--seed", "7",
                                       "--nibp-interval-s", "20", "--scenario", "desaturation@2", "--scenario-after-s", "25",
                                       "--scenario", "unplugged@1", "--unplugged-after-s", "45", "--unplugged-s", "60"],
                                      stdout=open(f"{work}/simulator.log", "w"), stderr=subprocess.STDOUT))
    hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=PASSWORD, capture_output=True, text=True, check=True).stdout.strip()
    with open(f"{work}/view-users", "w") as f:
        f.write(f"# users of the clinic view\n{USER}:{hashed}\n")
    os.chmod(f"{work}/view-users", 0o600)
    with open(f"{work}/tokens", "w") as f:
        f.write(f"browser-test {TOKEN} acknowledge-alarm,pause-audio\n")
    os.chmod(f"{work}/tokens", 0o600)
    write_config(work, "edge-07", broker, modbus, 2,
                 f"commands: {{ tokens_file: {work}/tokens }}\n"
                 f"view: {{ listen: 127.0.0.1, port: {view}, users_file: {work}/view-users }}")
    check = subprocess.run([args.agent, "check", f"{work}/gateway.yaml"], capture_output=True, text=True)
    if check.returncode != 0:
        fail("the configuration does not check: " + check.stdout + check.stderr)
    prefix = "bedside/browser-clinic/edge-07"
    events = []  # (monotonic time, payload) of every alarm event, as the broker delivers it
    subscriber = subprocess.Popen(["mosquitto_sub", "-p", str(broker), "-t", f"{prefix}/beds/+/alarms/events", "-q", "1"],
                                  stdout=subprocess.PIPE, text=True)
    processes.append(subscriber)

    def collect():
        for line in subscriber.stdout:
            try:
                events.append((time.monotonic(), json.loads(line)))
            except ValueError:
                pass
    threading.Thread(target=collect, daemon=True).start()
    args.agent_process = subprocess.Popen([args.agent, "run", "--config", f"{work}/gateway.yaml"],
                                          stdout=open(f"{work}/agent.log", "w"), stderr=subprocess.STDOUT)
    processes.append(args.agent_process)
    base = f"http://127.0.0.1:{view}/"

    def status(password):
        request = urllib.request.Request(base)
        if password is not None:
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.headers
        except OSError:
            return None, None
    wait_for("the view answering", lambda: status(None)[0] is not None, 20)
    code, headers = status(None)
    if code != 401 or "Basic" not in (headers.get("WWW-Authenticate") or ""):
        fail(f"without credentials: expected 401 with WWW-Authenticate: Basic, got {code} {dict(headers or {})}")
    code, headers = status("wrong password")
    if code != 401 or "Basic" not in (headers.get("WWW-Authenticate") or ""):
        fail(f"with a wrong password: expected 401 with WWW-Authenticate: Basic, got {code}")
    code, _ = status(PASSWORD)
    if code != 200:
        fail(f"with the right password: expected 200, got {code}")
    say("401 without and with a wrong password (WWW-Authenticate: Basic), 200 with the right one")

    driver = browser(work)
    try:
        browse(driver, base, work, args, events, broker, prefix)
    finally:
        driver.quit()


def authorize(driver, password):
    driver.execute_cdp_cmd("Network.enable", {})
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Basic " + token}})


def viewport(driver, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    time.sleep(0.5)  # the layout settles; the screenshot is for a person to look at


def js(driver, script):
    return driver.execute_script(script)


def tile(driver, bed):
    return js(driver, f"""const t=document.getElementById('bed-{bed}');if(!t)return null;
      const rows={{}};for(const r of t.querySelectorAll('.row'))rows[r.dataset.k]={{text:r.querySelector('.val').textContent,cls:r.querySelector('.val').className}};
      const b=t.querySelector('.ban');
      return {{stale:t.classList.contains('stale'),banner:b.textContent,bannerClass:b.className,rows,
              devices:[...t.querySelectorAll('.dev')].map(d=>d.textContent)}}""")


def browse(driver, base, work, args, events, broker, prefix):
    authorize(driver, "wrong password")
    driver.get(base)
    # Headless chromium shows no password prompt: the page stays empty.
    time.sleep(1)
    if driver.find_elements("id", "grid") or driver.title == "Clinic view":
        fail("the browser with a wrong password was shown the view")
    say("the browser with a wrong password is not shown the view")
    authorize(driver, PASSWORD)
    viewport(driver, 1280, 800)
    driver.get(base)
    for bed in ("chair-1", "chair-2"):
        wait_for(f"the tile of {bed} with values", lambda: (lambda t: t and not t["stale"] and "spo2" in t["rows"]
                                                             and t["rows"]["spo2"]["text"][:1].isdigit())(tile(driver, bed)), 20)
    say("a tile per chair, with values: " + json.dumps(tile(driver, "chair-1")["rows"]["spo2"]))
    seen = set()

    def moved():
        t = tile(driver, "chair-1")
        seen.add(tuple(r["text"] for r in t["rows"].values()))
        return len(seen) >= 3
    wait_for("chair-1's values moving", moved, 15, interval=0.5)
    say(f"values move: {len(seen)} different readings of chair-1")
    driver.save_screenshot(f"{args.screenshots}/view-1280x800-normal.png")

    def desaturation_start():
        for at, event in events:
            if event.get("bed") == "chair-2" and event.get("event") == "start" and event.get("priority") == "high":
                return at, event
        return None
    at, event = wait_for("chair-2's high-priority alarm event on MQTT", desaturation_start, 60)
    red = wait_for("chair-2's banner red", lambda: "high" in tile(driver, "chair-2")["bannerClass"].split() and time.monotonic(), 5,
                   interval=0.05)
    delay = red - at
    if delay > 2.0:
        fail(f"chair-2's banner turned red {delay:.2f} s after the alarm event arrived on MQTT (limit 2 s)")
    say(f"chair-2's banner red {delay:.2f} s after the MQTT event {event['condition']} ({event['alarm']}): "
        + tile(driver, "chair-2")["banner"])
    color = js(driver, "return getComputedStyle(document.querySelector('#bed-chair-2 .ban')).backgroundColor")
    if color != "rgb(212, 0, 0)":
        fail(f"the high-priority banner's colour is {color}, not red")
    animation = js(driver, "const s=getComputedStyle(document.querySelector('#bed-chair-2 .ban'));return s.animationName+' '+s.animationDuration")
    if not animation.startswith("f2 0.5s"):
        fail(f"the high-priority banner does not flash at 2 Hz: animation {animation}")
    driver.save_screenshot(f"{args.screenshots}/view-1280x800-alarm.png")
    viewport(driver, 390, 844)
    driver.save_screenshot(f"{args.screenshots}/view-390x844-alarm.png")
    viewport(driver, 1280, 800)

    command = {"id": "browser-ack-1", "issued": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
               "command": "acknowledge-alarm", "token": TOKEN, "bed": "chair-2", "alarm": event["alarm"]}
    subprocess.run(["mosquitto_pub", "-p", str(broker), "-q", "1", "-t", f"{prefix}/commands", "-m", json.dumps(command)], check=True)
    wait_for("chair-2's banner acknowledged",
             lambda: "ack" in tile(driver, "chair-2")["bannerClass"].split() and "ACK" in tile(driver, "chair-2")["banner"], 5)
    animation = js(driver, "return getComputedStyle(document.querySelector('#bed-chair-2 .ban')).animationName")
    if animation != "none":
        fail(f"an acknowledged alarm's banner still flashes ({animation})")
    say("acknowledged over MQTT: the banner stays red, stops flashing, says " + tile(driver, "chair-2")["banner"])

    pause = {"id": "browser-pause-1", "issued": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
             "command": "pause-audio", "token": TOKEN}
    subprocess.run(["mosquitto_pub", "-p", str(broker), "-q", "1", "-t", f"{prefix}/commands", "-m", json.dumps(pause)], check=True)
    paused = wait_for("the header saying the audio is paused", lambda: js(driver, """const a=document.getElementById('audio');
                      return !a.hidden && a.textContent.startsWith('Audio paused until ') ? a.textContent : null"""), 5)
    say("audio paused over MQTT: the header says " + repr(paused))

    def comm_loss():
        t = tile(driver, "chair-1")
        return t if t["rows"].get("spo2", {}).get("text") == "COMM LOSS" and any("COMM LOSS" in d for d in t["devices"]) else None
    t = wait_for("chair-1's unplugged monitor shown as comm-loss", comm_loss, 40)
    numbers = [k for k, r in t["rows"].items() if k != "rate" and r["text"][:1].isdigit()]
    if numbers:
        fail(f"chair-1's monitor is unplugged but these still show numbers: {numbers}")
    say("unplugged monitor: " + json.dumps(t["devices"]) + ", SpO2 shows " + t["rows"]["spo2"]["text"])
    driver.save_screenshot(f"{args.screenshots}/view-1280x800-commloss.png")
    viewport(driver, 390, 844)
    driver.save_screenshot(f"{args.screenshots}/view-390x844-commloss.png")
    viewport(driver, 1280, 800)

    # The agent frozen (SIGSTOP): no event comes, and after three cycles every tile says STALE
    # instead of showing its last numbers as if they were current.
    agent = args.agent_process
    agent.send_signal(signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        wait_for("every tile STALE while the agent is frozen",
                 lambda: all(tile(driver, bed)["stale"] for bed in ("chair-1", "chair-2")), 8)
        after = time.monotonic() - stopped
        shown = js(driver, "return document.getElementById('bed-chair-2').dataset.stale")
        connection = js(driver, "return document.getElementById('conn').textContent")
        opacity = js(driver, "return getComputedStyle(document.querySelector('#bed-chair-2 .row')).opacity")
        if float(opacity) > 0.5:
            fail(f"a stale tile's values are not greyed out (opacity {opacity})")
        driver.save_screenshot(f"{args.screenshots}/view-1280x800-stale.png")
        say(f"agent frozen: every tile STALE after {after:.1f} s ({shown!r}, values at opacity {opacity}), header {connection!r}")
    finally:
        agent.send_signal(signal.SIGCONT)
    wait_for("the tiles live again once the agent runs", lambda: not any(tile(driver, bed)["stale"] for bed in ("chair-1", "chair-2")), 10)
    say("agent running again: the tiles are live")


if __name__ == "__main__":
    main()
