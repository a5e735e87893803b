// The report's only script: the filter, the 360° viewers and playing
// videos while they are on screen. Everything else reads without it.
(() => {
  'use strict';

  // Filter by page or file name, and "only problems".
  const controls = document.getElementById('controls');
  const filter = document.getElementById('filter');
  const onlyProblems = document.getElementById('only-problems');
  const shown = document.getElementById('shown');
  const pages = Array.from(document.querySelectorAll('article.page'));
  const apply = () => {
    const q = filter.value.trim().toLowerCase();
    let n = 0;
    for (const page of pages) {
      const hide = (q && !page.dataset.search.includes(q)) ||
        (onlyProblems.checked && page.dataset.problems === '0');
      page.hidden = hide;
      if (!hide) n++;
    }
    shown.textContent = `${n} of ${pages.length} pages shown`;
  };
  if (controls) {
    controls.hidden = false;
    filter.addEventListener('input', apply);
    onlyProblems.addEventListener('change', apply);
    apply();
  }

  // 360° viewers: one sprite sheet, positioned to show one cell.
  for (const viewer of document.querySelectorAll('.spin')) {
    const img = viewer.querySelector('img');
    const sheetW = Number(viewer.dataset.width);
    const sheetH = Number(viewer.dataset.height);
    const cells = viewer.dataset.cells.split(';').map((c) => c.split(',').map(Number));
    const n = cells.length;
    let frame = 0;
    const show = (i) => {
      frame = ((i % n) + n) % n;
      const [x, y] = cells[frame];
      img.style.transform = `translate(${(-100 * x) / sheetW}%, ${(-100 * y) / sheetH}%)`;
      viewer.setAttribute('aria-valuenow', String(frame + 1));
      viewer.setAttribute('aria-valuetext', `frame ${frame + 1} of ${n}`);
      viewer.dataset.frame = String(frame);
    };
    viewer.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
      if (step !== undefined) show(frame + step);
      else if (e.key === 'Home') show(0);
      else if (e.key === 'End') show(n - 1);
      else return;
      e.preventDefault();
    });
    viewer.addEventListener('wheel', (e) => {
      if (e.deltaY === 0) return;
      show(frame + Math.sign(e.deltaY));
      e.preventDefault();
    }, { passive: false });
    let drag = null;
    viewer.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, frame };
      viewer.setPointerCapture(e.pointerId);
    });
    viewer.addEventListener('pointermove', (e) => {
      if (!drag) return;
      // One full turn per viewer width.
      const per = viewer.clientWidth / n;
      show(drag.frame + Math.round((e.clientX - drag.x) / per));
    });
    const end = () => { drag = null; };
    viewer.addEventListener('pointerup', end);
    viewer.addEventListener('pointercancel', end);
    show(0);
  }

  // Videos load nothing up front; they play while on screen.
  if ('IntersectionObserver' in window) {
    const seen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const video = e.target;
        if (e.isIntersecting) {
          video.preload = 'auto';
          video.play().catch(() => {});
        } else if (!video.paused) {
          video.pause();
        }
      }
    }, { rootMargin: '200px' });
    for (const video of document.querySelectorAll('video[data-autoplay]')) seen.observe(video);
  }
})();
