// The console works without script; this only adds conveniences: "select all" boxes and the
// print button of the enrolment sheet (inline handlers are forbidden by the page's CSP).
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('input[data-select-all]').forEach(function (box) {
    box.addEventListener('change', function () {
      document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(function (b) {
        b.checked = box.checked;
      });
    });
  });
  document.querySelectorAll('button[data-print]').forEach(function (b) {
    b.addEventListener('click', function () { window.print(); });
  });
});
// The 110 desk's map: a click on the grids' drawing becomes WGS-84 latitude and longitude in
// the form's fields, inverting the server's projection (its numbers are the svg's data-*).
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('svg[data-pick]').forEach(function (svg) {
    var form = svg.closest('form');
    var d = svg.dataset;
    svg.addEventListener('click', function (ev) {
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse());
      var lng = +d.minLng + (p.x - +d.dx) / (+d.cos * +d.k);
      var lat = +d.maxLat - (p.y - +d.dy) / +d.k;
      form.querySelector('input[name="lat"]').value = lat.toFixed(6);
      form.querySelector('input[name="lng"]').value = lng.toFixed(6);
      var mark = svg.querySelector('circle.picked');
      if (!mark) {
        mark = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
        mark.setAttribute('class', 'picked');
        mark.setAttribute('r', '8');
        mark.setAttribute('fill', '#a40e26');
        svg.appendChild(mark);
      }
      mark.setAttribute('cx', p.x.toFixed(1));
      mark.setAttribute('cy', p.y.toFixed(1));
    });
  });
});
