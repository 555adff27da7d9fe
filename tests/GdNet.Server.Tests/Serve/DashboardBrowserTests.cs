using System.Net.WebSockets;
using Microsoft.Playwright;
using static GdNet.TestSupport.ServeKit;

namespace GdNet.Server.Tests.Serve;

/// <summary>
/// The admin dashboard of <c>gdnet serve</c> in a real browser: Debian's Chromium driven by Playwright (no browser
/// download), against a real server with a connected player.
/// </summary>
[Trait("Category", "Browser")]
public sealed class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_dashboard_shows_players_and_rooms_charts_them_kicks_and_shows_the_server_stopping()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: ./test.sh installs Debian's chromium");
        const string Token = "dashboard-test-token-0123";
        var (serve, port) = await StartAsync(1, "--admin-port", "0", "--admin-token", Token, "--drain-seconds", "2");
        await using var _ = serve;
        var admin = (await AdminUriAsync(serve)).ToString();

        using var player = new ClientWebSocket();
        await player.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/arena"), CancellationToken.None);
        Assert.True(await serve.WaitForLinesContainingAsync("(room arena,", 1, Wait), serve.Describe());
        var id = RoomsOf(serve).Single(p => p.Value == "arena").Key;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        page.SetDefaultTimeout((float)Wait.TotalMilliseconds);
        await page.GotoAsync(admin);

        // Counts, the tables, and charts that receive points (one a second).
        await Assertions.Expect(page.Locator("#now-peers")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#now-rooms")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("accepting players");
        await Assertions.Expect(page.Locator("#rooms tbody td").First).ToHaveTextAsync("arena");
        await Assertions.Expect(page.Locator("#peers tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#peers tbody td").First).ToHaveTextAsync(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await page.WaitForFunctionAsync("() => Number(document.querySelector('#chart-packets path')?.dataset.points) >= 3");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard.png"), FullPage = true });

        // On a phone: one column, nothing wider than the screen (wide tables scroll inside their card), charts drawn.
        await using (var phone = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, DeviceScaleFactor = 2,
        }))
        {
            var small = await phone.NewPageAsync();
            small.SetDefaultTimeout((float)Wait.TotalMilliseconds);
            await small.GotoAsync(admin);
            await Assertions.Expect(small.Locator("#now-peers")).ToHaveTextAsync("1");
            await small.WaitForFunctionAsync("() => Number(document.querySelector('#chart-peers path')?.dataset.points) >= 2");
            var layout = await small.EvaluateAsync<double[]>("""
                () => {
                  const w = window.innerWidth;
                  const cards = [...document.querySelectorAll('main > section')].map(s => s.getBoundingClientRect());
                  const chart = document.querySelector('#chart-packets').getBoundingClientRect();
                  return [w, document.documentElement.scrollWidth, Math.max(...cards.map(r => r.right)), new Set(cards.map(r => Math.round(r.left))).size, chart.width];
                }
                """);
            var (width, pageWidth, rightmost, columns, chartWidth) = (layout[0], layout[1], layout[2], layout[3], layout[4]);
            Assert.True(pageWidth <= width, $"the page is {pageWidth} px wide on a {width} px screen");
            Assert.True(rightmost <= width, $"a card ends at {rightmost} px on a {width} px screen");
            Assert.Equal(1, columns);
            Assert.True(chartWidth >= width * 0.8, $"the packets chart is {chartWidth} px wide on a {width} px screen");
            await small.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "dashboard-phone.png"), FullPage = true });
        }

        // No kick button without the token; with it, a kick disconnects that player.
        await Assertions.Expect(page.Locator("button.kick")).ToHaveCountAsync(0);
        await page.FillAsync("#token", Token);
        await page.ClickAsync($"button.kick[data-id=\"{id}\"]");
        await Assertions.Expect(page.Locator($"button.kick[data-id=\"{id}\"]")).ToHaveTextAsync("kicked");
        Assert.True(await serve.WaitForLinesContainingAsync($"peer {id} disconnected", 1, Wait), serve.Describe());
        await Assertions.Expect(page.Locator("#now-peers")).ToHaveTextAsync("0");

        // The server stops: the page says so.
        await serve.SignalAsync("TERM", Wait);
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("server stopped or unreachable");
        Assert.Equal(0, await serve.WaitForExitAsync(Wait));
    }
}
