using System.Diagnostics.Metrics;

namespace GdNet.Server.Tests;

/// <summary>Listens to one meter's instruments and reads them on demand: (instrument, its one tag's value) → value.</summary>
internal sealed class MetricsReader : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly HashSet<string> _instruments = [];
    private readonly Dictionary<(string, string?), long> _values = [];

    public MetricsReader(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                lock (_instruments)
                {
                    _instruments.Add(instrument.Name);
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) =>
        {
            lock (_instruments)
            {
                _instruments.Remove(instrument.Name);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _values[(instrument.Name, tags.Length == 0 ? null : tags[0].Value as string)] = value);
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => _values[(instrument.Name, tags.Length == 0 ? null : tags[0].Value as string)] = value);
        _listener.Start();
    }

    public List<string> Instruments
    {
        get
        {
            lock (_instruments)
            {
                return [.. _instruments];
            }
        }
    }

    public Dictionary<(string, string?), long> Collect()
    {
        _values.Clear();
        _listener.RecordObservableInstruments();
        return new Dictionary<(string, string?), long>(_values);
    }

    public void Dispose() => _listener.Dispose();
}
